//! A burst of warnings, as a department's monthly list loads them: hundreds of `raiseAlert` at
//! once on a 16-connection pool. Every one is answered — accepted, or `OVERLOADED` with
//! `retryAfter` and then accepted when sent again — none `INTERNAL`, identical warnings become
//! one alert, and the background work never reports a pool error.

use std::time::{Duration, Instant};

use dixian_domain::Role;
use dixian_store::LedgerId;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::alerts::{HOUSEHOLD, RAISE, raise_input, register};
use crate::support::{TestApp, error_code};

const VILLAGE: &str = "370305004201";
const HOUSEHOLDS: usize = 200;

/// The service on a 16-connection request pool, a grid worker's token and `n` households of
/// the worker's village.
async fn district(n: usize) -> (TestApp, String, Vec<Uuid>) {
    let app = TestApp::spawn_with(|c| c.max_connections = 16).await;
    app.services
        .store
        .open_ledger(&LedgerId::parse("370305").unwrap())
        .await
        .unwrap();
    let grid = app.token(Role::GridWorker, VILLAGE).await;
    let mut households = Vec::new();
    for serial in 0..n {
        households.push(register(&app, &grid, serial as u32).await);
    }
    (app, grid, households)
}

/// Sends one raise until it is accepted, following `retryAfter` on `OVERLOADED`; returns the
/// answer and how many `OVERLOADED` it met. Any other error fails the test.
async fn raise_until_accepted(
    client: reqwest::Client,
    url: String,
    token: String,
    vars: Value,
) -> (Value, u32) {
    let mut overloaded = 0;
    loop {
        let resp: Value = client
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({ "query": RAISE, "variables": vars }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match error_code(&resp).as_deref() {
            None => return (resp, overloaded),
            Some("OVERLOADED") => {
                overloaded += 1;
                assert!(overloaded < 20, "still OVERLOADED after 20 tries: {resp}");
                let after = resp["errors"][0]["extensions"]["retryAfter"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("OVERLOADED without retryAfter: {resp}"));
                tokio::time::sleep(Duration::from_secs(after)).await;
            }
            Some(_) => panic!("a raise failed: {resp}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_hundred_warnings_at_once_are_all_answered_and_identical_pairs_become_one_alert() {
    let (app, grid, households) = district(HOUSEHOLDS).await;
    let county = app.token(Role::CountyOfficer, "370305").await;

    // Two identical warnings per household, all 400 sent at once.
    let url = format!("{}/graphql", app.base);
    let started = Instant::now();
    let raises: Vec<_> = households
        .iter()
        .flat_map(|h| [*h, *h])
        .map(|h| {
            let vars =
                json!({ "i": raise_input(Uuid::now_v7(), Some(h), "MEDICAL_OUT_OF_POCKET") });
            tokio::spawn(raise_until_accepted(
                app.client.clone(),
                url.clone(),
                county.clone(),
                vars,
            ))
        })
        .collect();
    // A grid worker opens a household's file in the middle of the burst.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let read_started = Instant::now();
    let read = app
        .gql(Some(&grid), HOUSEHOLD, json!({ "id": households[0] }))
        .await;
    let read_took = read_started.elapsed();
    assert!(read["errors"].is_null(), "a read during the burst: {read}");

    let mut by_household: std::collections::HashMap<String, Vec<Value>> = Default::default();
    let mut overloaded = 0;
    for r in raises {
        let (answer, o) = r.await.unwrap();
        overloaded += o;
        let raised = answer["data"]["raiseAlert"].clone();
        by_household
            .entry(raised["alert"]["householdId"].as_str().unwrap().to_owned())
            .or_default()
            .push(raised);
    }
    let took = started.elapsed();
    eprintln!(
        "400 raises answered in {took:?} ({overloaded} OVERLOADED, retried); a household read during the burst took {read_took:?}"
    );

    // Exactly one alert per household, the other warning recorded on it.
    assert_eq!(by_household.len(), HOUSEHOLDS);
    for (household, pair) in &by_household {
        assert_eq!(pair.len(), 2, "{household}");
        let new: Vec<&Value> = pair.iter().filter(|r| r["linkedTo"].is_null()).collect();
        assert_eq!(new.len(), 1, "one new alert for {household}: {pair:?}");
        assert_eq!(pair[0]["alert"]["id"], pair[1]["alert"]["id"], "{pair:?}");
    }

    // The background work went through: every alert linked on its household's file, nothing
    // stuck or stopped.
    for h in &households {
        let mut file = Value::Null;
        for _ in 0..100 {
            file = app.gql(Some(&grid), HOUSEHOLD, json!({ "id": h })).await;
            if file["data"]["household"]["openAlertIds"]
                .as_array()
                .is_some_and(|a| a.len() == 1)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            file["data"]["household"]["openAlertIds"]
                .as_array()
                .map(Vec::len),
            Some(1),
            "{file}"
        );
    }
    assert!(app.services.reactors.stuck("").await.unwrap().is_empty());
    assert!(app.services.runner.blocked("").await.unwrap().is_empty());
    assert_eq!(app.get("/readyz").await, (200, "ready".into()));
    app.shutdown().await;
}

const BATCH: &str = "mutation($items: [BatchCommand!]!) {
  submitBatch(items: $items) { index ok duplicate error { code field message } } }";

/// Sends a batch, then again only the items answered `OVERLOADED` (same command ids), until
/// every item is applied; returns how many `OVERLOADED` items it met. Any other item error
/// fails the test.
async fn submit_until_applied(
    client: reqwest::Client,
    url: String,
    token: String,
    mut items: Vec<Value>,
) -> u32 {
    let mut overloaded = 0;
    for _ in 0..20 {
        let resp: Value = client
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({ "query": BATCH, "variables": { "items": items } }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let results = resp["data"]["submitBatch"]
            .as_array()
            .unwrap_or_else(|| panic!("a batch failed as a whole: {resp}"));
        let mut again = Vec::new();
        for (item, r) in items.iter().zip(results) {
            match r["error"]["code"].as_str() {
                None => assert_eq!(r["ok"], true, "{r}"),
                Some("OVERLOADED") => {
                    overloaded += 1;
                    again.push(item.clone());
                }
                Some(_) => panic!("an item failed: {r}"),
            }
        }
        if again.is_empty() {
            return overloaded;
        }
        items = again;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("items still OVERLOADED after 20 rounds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_offline_batches_of_two_hundred_at_once_are_all_applied() {
    const CLIENTS: usize = 20;
    const PER_CLIENT: usize = 10; // households per client, 20 visits each
    let (app, grid, households) = district(CLIENTS * PER_CLIENT).await;
    let url = format!("{}/graphql", app.base);
    let started = Instant::now();
    let clients: Vec<_> = households
        .chunks(PER_CLIENT)
        .map(|mine| {
            let items: Vec<Value> = (0..200)
                .map(|i| {
                    json!({ "recordVisit": {
                        "commandId": Uuid::now_v7(), "householdId": mine[i % PER_CLIENT],
                        "kind": "ROUTINE_GRID_VISIT", "findings": format!("离线走访 {i}"),
                    } })
                })
                .collect();
            tokio::spawn(submit_until_applied(
                app.client.clone(),
                url.clone(),
                grid.clone(),
                items,
            ))
        })
        .collect();
    let mut overloaded = 0;
    for c in clients {
        overloaded += c.await.unwrap();
    }
    eprintln!(
        "20 batches of 200 applied in {:?} ({overloaded} items OVERLOADED, resent)",
        started.elapsed()
    );
    for h in &households {
        let file = app
            .gql(
                Some(&grid),
                "query($id: UUID!) { household(id: $id) { visits { findings } } }",
                json!({ "id": h }),
            )
            .await;
        assert_eq!(
            file["data"]["household"]["visits"].as_array().map(Vec::len),
            Some(20),
            "each visit once: {file}"
        );
    }
    assert!(app.services.runner.blocked("").await.unwrap().is_empty());
    app.shutdown().await;
}
