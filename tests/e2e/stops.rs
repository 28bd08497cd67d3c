//! A read model that cannot apply an event stops there, visibly: `stuckProjections` lists it
//! for the county (not for a village), `/readyz` says `degraded` with the reason, and the
//! events before it are applied.

use std::time::{Duration, Instant};

use chrono::Utc;
use dixian_domain::Role;
use dixian_store::{Actor, AppendRequest, ExpectedVersion, LedgerId, NewEvent};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::alerts::register;
use crate::support::{TestApp, error_code};

const VILLAGE: &str = "370305004201";
const STUCK: &str = "query($r: String) {
  stuckProjections(regionCode: $r) { projection ledger seq eventType streamId error attempts } }";

#[tokio::test]
async fn an_event_a_projection_cannot_apply_stops_it_there_for_all_to_see() {
    let app = TestApp::spawn().await;
    app.services
        .store
        .open_ledger(&LedgerId::parse("370305").unwrap())
        .await
        .unwrap();
    let county = app.token(Role::CountyOfficer, "370305").await;
    let grid = app.token(Role::GridWorker, VILLAGE).await;
    let household = register(&app, &grid, 1).await;
    let resp = app.gql(Some(&county), STUCK, json!({ "r": null })).await;
    assert_eq!(resp["data"]["stuckProjections"], json!([]), "{resp}");

    // A known event type whose body does not decode, as a faulty import could have stored it.
    let stream_id = dixian_domain::StreamId::Household(household).to_string();
    app.services
        .store
        .append(AppendRequest {
            ledger: LedgerId::parse("370305").unwrap(),
            stream_id: stream_id.clone(),
            stream_type: "household".into(),
            expected: ExpectedVersion::Any,
            command_id: None,
            fingerprint: None,
            actor: Actor::system(),
            correlation_id: None,
            causation_id: None,
            events: vec![
                NewEvent::new(
                    Uuid::now_v7(),
                    "VisitRecorded",
                    &json!({ "type": "VisitRecorded", "findings": 7 }),
                    Utc::now(),
                )
                .unwrap(),
            ],
            claims: Vec::new(),
        })
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(15);
    let stuck: Value = loop {
        let resp = app.gql(Some(&county), STUCK, json!({ "r": null })).await;
        let list = resp["data"]["stuckProjections"].clone();
        if list.as_array().is_some_and(|l| !l.is_empty()) {
            break list;
        }
        assert!(Instant::now() < deadline, "never listed: {resp}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let s = &stuck[0];
    assert_eq!(s["projection"], "casework", "{stuck}");
    assert_eq!(s["ledger"], "370305");
    assert_eq!(s["eventType"], "VisitRecorded");
    assert_eq!(s["streamId"], stream_id.as_str());
    assert!(s["error"].as_str().unwrap().contains("decode"), "{stuck}");

    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.starts_with("degraded:")
            && body.contains("casework")
            && body.contains("VisitRecorded"),
        "{body}"
    );
    let resp = app.gql(Some(&grid), STUCK, json!({ "r": null })).await;
    assert_eq!(error_code(&resp).as_deref(), Some("FORBIDDEN"), "{resp}");
    let resp = app
        .gql(Some(&county), STUCK, json!({ "r": "370303" }))
        .await;
    assert_eq!(error_code(&resp).as_deref(), Some("FORBIDDEN"), "{resp}");

    // Everything before the culprit is applied: the household's registration is listed.
    let checkpoint: i64 = sqlx::query_scalar(
        "select seq from es.checkpoint where projection = 'casework' and ledger = '370305'",
    )
    .fetch_one(&app.services.pool)
    .await
    .unwrap();
    assert_eq!(checkpoint + 1, s["seq"].as_i64().unwrap());
    app.shutdown().await;
}
