//! Reads served from the fold cache are exact: whatever any server process committed before a
//! request is in its answer, and a revoked user is refused by the next request, everywhere.

use dixian_domain::{IdNumber, Role};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestApp, error_code};

const VILLAGE: &str = "370305004201";
const DOSSIER: &str =
    "query($id: UUID!, $knownAt: DateTime) { household(id: $id, knownAt: $knownAt) {
    version visits { findings } timeline { eventType } } }";

fn id_number() -> String {
    let first17 = "37030519680412003";
    format!("{first17}{}", IdNumber::check_digit(first17).unwrap())
}

async fn mutate(app: &TestApp, token: &str, field: &str, input_type: &str, input: Value) -> Value {
    let q = format!(
        "mutation($i: {input_type}!) {{ {field}(input: $i) {{ household {{ id version }} position {{ recordedAt }} }} }}"
    );
    let resp = app.gql(Some(token), &q, json!({ "i": input })).await;
    assert!(resp["errors"].is_null(), "{field}: {resp}");
    resp["data"][field].clone()
}

async fn dossier(app: &TestApp, token: &str, id: &str, known_at: Option<&str>) -> Value {
    app.gql(
        Some(token),
        DOSSIER,
        json!({ "id": id, "knownAt": known_at }),
    )
    .await
}

#[tokio::test]
async fn a_second_server_answers_every_committed_change_at_once_and_refuses_a_revoked_user() {
    let a = TestApp::spawn().await;
    let b = a.beside().await;
    let worker = a.token(Role::GridWorker, VILLAGE).await;
    let county = a.token(Role::CountyOfficer, "370305").await;

    let registered = mutate(&a, &worker, "registerHousehold", "RegisterHouseholdInput", json!({
        "commandId": Uuid::now_v7(), "village": VILLAGE, "address": "合理村 3 号",
        "head": { "name": "王秀英", "idNumber": id_number(), "relation": "HEAD", "health": "HEALTHY",
                  "labour": "NORMAL", "schooling": "NONE", "employment": "FARMING", "safetyNet": "NONE" } })).await;
    let id = registered["household"]["id"].as_str().unwrap().to_owned();
    let before_visit = registered["position"]["recordedAt"]
        .as_str()
        .unwrap()
        .to_owned();

    // Server B folds the household and keeps the fold.
    let first = dossier(&b, &worker, &id, None).await;
    assert_eq!(first["data"]["household"]["version"], 1, "{first}");
    assert_eq!(first["data"]["household"]["visits"], json!([]));

    // Server A records a visit; B's very next read has it, with no wait and no refresh.
    for n in 0..3 {
        mutate(
            &a,
            &worker,
            "recordVisit",
            "RecordVisitInput",
            json!({
            "commandId": Uuid::now_v7(), "householdId": id, "kind": "ROUTINE_GRID_VISIT",
            "findings": format!("第 {n} 次走访"), "wallMaterialsChecked": true }),
        )
        .await;
        let now = dossier(&b, &worker, &id, None).await;
        let h = &now["data"]["household"];
        assert_eq!(h["version"], 2 + n, "{now}");
        assert_eq!(h["visits"].as_array().unwrap().len(), (n + 1) as usize);
        assert_eq!(h["timeline"].as_array().unwrap().len(), (n + 2) as usize);
        assert_eq!(
            h["timeline"][(n + 1) as usize]["eventType"],
            "VisitRecorded"
        );
    }

    // Time travel on B still folds the exact prefix, not the cached present.
    let then = dossier(&b, &worker, &id, Some(&before_visit)).await;
    assert_eq!(then["data"]["household"]["version"], 1, "{then}");

    // A county officer deactivates the worker through A: B refuses the worker's next request.
    let me: Value = a.gql(Some(&worker), "{ me { id } }", json!({})).await;
    let worker_id = me["data"]["me"]["id"].as_str().unwrap().to_owned();
    let resp = a
        .gql(
            Some(&county),
            "mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { duplicate } }",
            json!({ "i": { "commandId": Uuid::now_v7(), "userId": worker_id, "reason": "调离" } }),
        )
        .await;
    assert!(resp["errors"].is_null(), "{resp}");
    let refused = dossier(&b, &worker, &id, None).await;
    assert_eq!(
        error_code(&refused).as_deref(),
        Some("UNAUTHENTICATED"),
        "{refused}"
    );
    assert!(refused["data"].is_null() || refused["data"]["household"].is_null());

    b.shutdown().await;
    a.shutdown().await;
}
