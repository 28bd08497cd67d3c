//! Ledgers and integrity over GraphQL, with role and jurisdiction checks.

use dixian_domain::Role;
use dixian_store::{Actor, AppendRequest, ExpectedVersion, LedgerId, NewEvent};
use serde_json::json;
use uuid::Uuid;

use crate::support::{TestApp, error_code};

async fn some_events(app: &TestApp) {
    let ledger = LedgerId::parse("370305").unwrap();
    app.services.store.open_ledger(&ledger).await.unwrap();
    for i in 0..5 {
        app.services
            .store
            .append(AppendRequest {
                claims: Vec::new(),
                ledger: ledger.clone(),
                stream_id: format!("household-{i}"),
                stream_type: "household".into(),
                expected: ExpectedVersion::NoStream,
                command_id: None,
                fingerprint: None,
                actor: Actor::system(),
                correlation_id: None,
                causation_id: None,
                events: vec![
                    NewEvent::new(
                        Uuid::now_v7(),
                        "Test",
                        &json!({ "i": i }),
                        chrono::Utc::now(),
                    )
                    .unwrap(),
                ],
            })
            .await
            .unwrap();
    }
}

const VERIFY: &str = "query($l: String!, $s: Int, $h: String) {
  verifyLedger(ledger: $l, anchorSeq: $s, anchorHash: $h) { ok checked headSeq problem { seq damage } } }";

#[tokio::test]
async fn an_auditor_verifies_a_ledger_and_checks_it_against_an_anchor() {
    let app = TestApp::spawn().await;
    some_events(&app).await;
    let auditor = app.token(Role::Auditor, "370305").await;
    let resp = app
        .gql(
            Some(&auditor),
            "{ ledgers { ledger lastSeq headHash } }",
            json!({}),
        )
        .await;
    assert_eq!(resp["data"]["ledgers"][0]["ledger"], "370305", "{resp}");
    // Five household events plus the auditor's own registration (users are event-sourced too).
    assert_eq!(resp["data"]["ledgers"][0]["lastSeq"], 6);

    let resp = app
        .gql(Some(&auditor), VERIFY, json!({ "l": "370305" }))
        .await;
    assert_eq!(
        resp["data"]["verifyLedger"],
        json!({ "ok": true, "checked": 6, "headSeq": 6, "problem": null }),
        "{resp}"
    );

    let county = app.token(Role::CountyOfficer, "370305").await;
    let anchor = app
        .gql(
            Some(&county),
            "mutation { takeAnchor(ledger: \"370305\") { seq headHash } }",
            json!({}),
        )
        .await;
    let seq = anchor["data"]["takeAnchor"]["seq"].as_i64().unwrap();
    let hash = anchor["data"]["takeAnchor"]["headHash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(seq, 7, "the county officer's registration came after");
    let resp = app
        .gql(
            Some(&auditor),
            VERIFY,
            json!({ "l": "370305", "s": seq, "h": hash }),
        )
        .await;
    assert_eq!(resp["data"]["verifyLedger"]["ok"], true);
    let wrong = app
        .gql(
            Some(&auditor),
            VERIFY,
            json!({ "l": "370305", "s": 3, "h": hash }),
        )
        .await;
    assert_eq!(
        wrong["data"]["verifyLedger"]["problem"]["damage"],
        "ANCHOR_MISMATCH"
    );
    let half = app
        .gql(Some(&auditor), VERIFY, json!({ "l": "370305", "s": 3 }))
        .await;
    assert_eq!(error_code(&half).as_deref(), Some("BAD_USER_INPUT"));
    assert_eq!(half["errors"][0]["extensions"]["field"], "anchorHash");
    app.shutdown().await;
}

#[tokio::test]
async fn ledgers_are_refused_without_a_token_to_the_wrong_role_and_outside_the_jurisdiction() {
    let app = TestApp::spawn().await;
    some_events(&app).await;
    let none = app.gql(None, "{ ledgers { ledger } }", json!({})).await;
    assert_eq!(error_code(&none).as_deref(), Some("UNAUTHENTICATED"));
    assert!(none["data"].is_null());
    let forged = app
        .gql(Some("not-a-token"), "{ ledgers { ledger } }", json!({}))
        .await;
    assert_eq!(error_code(&forged).as_deref(), Some("UNAUTHENTICATED"));

    let grid = app.token(Role::GridWorker, "370305004201").await;
    let resp = app.gql(Some(&grid), VERIFY, json!({ "l": "370305" })).await;
    assert_eq!(error_code(&resp).as_deref(), Some("FORBIDDEN"), "{resp}");

    let other_county = app.token(Role::Auditor, "370303").await;
    let resp = app
        .gql(Some(&other_county), VERIFY, json!({ "l": "370305" }))
        .await;
    assert_eq!(error_code(&resp).as_deref(), Some("FORBIDDEN"));
    let listed = app
        .gql(Some(&other_county), "{ ledgers { ledger } }", json!({}))
        .await;
    let listed: Vec<&str> = listed["data"]["ledgers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["ledger"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        vec!["370303"],
        "only ledgers inside the jurisdiction are listed"
    );

    let township = app.token(Role::CountyOfficer, "370305101").await;
    let resp = app
        .gql(
            Some(&township),
            "mutation { takeAnchor(ledger: \"370305\") { seq } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_code(&resp).as_deref(),
        Some("FORBIDDEN"),
        "a sub-county jurisdiction does not cover the county ledger"
    );
    app.shutdown().await;
}
