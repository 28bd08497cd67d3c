//! The demo district against a real PostgreSQL (`DATABASE_URL`, an administrator URL): it loads
//! through the log, holds a user per role, monitored households (one eligible for removal), open
//! and overdue alerts and the seed's 2023 figure, answers the README's example queries, verifies,
//! and loading it again appends nothing.

use std::time::Duration;

use chrono::Utc;
use dixian_api::Caller;
use dixian_domain::alert::Alert;
use dixian_domain::household::{Household, MonitoringStatus, removal_eligibility_under};
use dixian_domain::{Role, StreamId, china_date};
use dixian_server::demo::{self, DemoOptions};
use dixian_server::{Config, Database, Services, http};
use dixian_store::{StreamRead, read, verify};
use serde_json::{Value, json};
use sqlx::Connection;
use uuid::Uuid;

fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a PostgreSQL server (tests/run.sh sets it)")
}

/// The same server URL with another database.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

async fn heads(services: &Services) -> Vec<(String, i64, Vec<u8>)> {
    let mut conn = services.pool.acquire().await.unwrap();
    read::ledger_heads(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.ledger, h.last_seq, h.head_hash))
        .collect()
}

async fn gql(client: &reqwest::Client, base: &str, token: &str, query: &str) -> Value {
    let resp = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert!(body["errors"].is_null(), "{query}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_district_loads_through_the_log_and_a_second_load_appends_nothing() {
    let server = server_url();
    let name = format!("dixian_demo_{}", Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut config = Config::from_env().unwrap();
    config.database_url = Some(with_database(&server, &name));
    config.jwt_secret = "demo-test-secret-0123456789abcdef".into();
    config.pii_key = "demo-test-pii-key-0123456789abcdef".into();
    config.max_connections = 12;
    let database = Database::open(&config).await.unwrap();
    let services = Services::start(&database, &config).await.unwrap();
    let api = &services.api;

    let options = DemoOptions {
        households: 200,
        workers: 8,
        ..DemoOptions::default()
    };
    let report = demo::load_with(&services.api, &options).await.unwrap();
    assert!(!report.already_loaded);
    assert_eq!(report.households, 200);
    assert!(report.new_events > 1000, "{} events", report.new_events);

    // One user per role, as the log says.
    let roles: Vec<Role> = report.users.iter().map(|u| u.role).collect();
    for role in [
        Role::GridWorker,
        Role::VillageSecretary,
        Role::Cadre,
        Role::TownshipOfficer,
        Role::CountyOfficer,
        Role::Auditor,
        Role::SpotChecker,
    ] {
        assert!(roles.contains(&role), "no {role:?}");
    }
    for u in &report.users {
        let state = dixian_api::user::load_user(api, u.user_id).await.unwrap();
        assert!(state.active, "{} is active", u.name);
        assert_eq!(state.role, Some(u.role));
        assert_eq!(state.jurisdiction.as_ref(), Some(&u.jurisdiction));
    }
    let spot_checker = report
        .users
        .iter()
        .find(|u| u.role == Role::SpotChecker)
        .unwrap();
    let granted = dixian_api::user::load_user(api, spot_checker.user_id)
        .await
        .unwrap();
    assert!(!granted.samples.is_empty(), "the spot-checker has a sample");

    // Monitored households; one eligible for removal, the printed one not.
    let monitored: usize = report
        .stages
        .iter()
        .filter(|(k, _)| k.starts_with("MONITORED"))
        .map(|(_, v)| v)
        .sum();
    assert!(monitored >= 10, "{:?}", report.stages);
    let policy = api.folds.policy("37").await.unwrap();
    let today = china_date(Utc::now());
    let fold = |id: Uuid| {
        let exec = api.exec.clone();
        async move {
            exec.load::<Household>(&StreamId::Household(id), StreamRead::default())
                .await
                .unwrap()
                .state
        }
    };
    let eligible = fold(report.eligible_household).await;
    assert_eq!(eligible.status, MonitoringStatus::Monitored);
    let verdict = removal_eligibility_under(&eligible, &policy.state, today);
    assert!(verdict.eligible, "{:?}", verdict.reasons);
    let printed = fold(report.monitored_household).await;
    assert_eq!(printed.status, MonitoringStatus::Monitored);
    assert!(
        !removal_eligibility_under(&printed, &policy.state, today)
            .reasons
            .is_empty()
    );

    // Open and overdue alerts.
    assert!(!report.open_alerts.is_empty() && !report.overdue_alerts.is_empty());
    for id in &report.open_alerts {
        let alert = api
            .exec
            .load::<Alert>(&StreamId::Alert(*id), StreamRead::default())
            .await
            .unwrap()
            .state;
        assert!(alert.is_open(), "alert {id} is open");
    }
    for id in &report.overdue_alerts {
        let alert = api
            .exec
            .load::<Alert>(&StreamId::Alert(*id), StreamRead::default())
            .await
            .unwrap()
            .state;
        let (_, due) = alert.pending().expect("a round is owed");
        assert!(due < Utc::now(), "alert {id} is overdue");
    }

    // The seed's figure, from the log itself: 22 households newly included in 2023.
    let approved_2023: i64 = sqlx::query_scalar(
        "select count(*) from es.event where ledger = '370305' and event_type = 'InclusionApproved'
            and occurred_at >= timestamptz '2023-01-01 00:00+08' and occurred_at < timestamptz '2024-01-01 00:00+08'",
    )
    .fetch_one(&services.pool)
    .await
    .unwrap();
    assert_eq!(approved_2023, 22);
    assert_eq!(report.included_2023, (22, 62));

    // The README's example queries, over HTTP.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn({
        let services = services.clone();
        async move {
            http::serve(listener, services, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        }
    });
    let token = |role: Role| {
        let u = report.users.iter().find(|u| u.role == role).unwrap();
        let caller = Caller {
            user_id: u.user_id,
            role: u.role,
            jurisdiction: u.jurisdiction.clone(),
        };
        services
            .auth
            .issue(&caller, Utc::now(), Utc::now() + chrono::Duration::hours(1))
            .unwrap()
    };
    let client = reqwest::Client::new();
    let me = gql(
        &client,
        &base,
        &token(Role::GridWorker),
        "{ me { name role { code labelZh } } }",
    )
    .await;
    assert_eq!(me["data"]["me"]["role"]["code"], "GRID_WORKER");
    let household = gql(
        &client,
        &base,
        &token(Role::CountyOfficer),
        &format!(
            "{{ household(id: \"{}\") {{ members {{ name idNumber }} incomes {{ windowEnd perCapitaFen }} removalEligibility {{ eligible reasons {{ code messageZh }} }} timeline {{ eventType seq }} }} }}",
            report.monitored_household
        ),
    )
    .await;
    let h = &household["data"]["household"];
    assert!(
        h["members"][0]["idNumber"]
            .as_str()
            .unwrap()
            .contains("****"),
        "masked: {h}"
    );
    assert!(h["timeline"].as_array().unwrap().len() > 30);
    assert_eq!(h["removalEligibility"]["eligible"], false);
    let regions = gql(
        &client,
        &base,
        &token(Role::Auditor),
        "{ regions(parent: \"370305\") { code name } }",
    )
    .await;
    assert_eq!(
        regions["data"]["regions"].as_array().unwrap().len(),
        12,
        "{regions}"
    );
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), serving).await;

    // A second load finds the marker; a forced one runs every command as a duplicate.
    let before = heads(&services).await;
    let again = demo::load_with(&services.api, &options).await.unwrap();
    assert!(again.already_loaded);
    assert_eq!(again.new_events, 0);
    assert_eq!(heads(&services).await, before);
    let forced = demo::load_with(
        &services.api,
        &DemoOptions {
            force: true,
            ..options.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        forced.new_events, 0,
        "every command of a second load is a duplicate"
    );
    assert_eq!(heads(&services).await, before);

    let mut conn = services.pool.acquire().await.unwrap();
    for ledger in ["370000", "370305"] {
        let verified = verify::verify_ledger(&mut conn, ledger).await.unwrap();
        assert!(verified.ok(), "{verified:?}");
        assert!(verified.checked > 0);
    }
    drop(conn);

    services.shutdown().await;
    database.stop();
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&mut admin)
    .await;
}
