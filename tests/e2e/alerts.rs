//! The alert closed loop (研判预警) over GraphQL: raise, link a repeat, first-round feedback,
//! township study opening the household's identification, close; roles, codes and replays.

use std::time::Duration;

use dixian_domain::{IdNumber, Role};
use dixian_store::LedgerId;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestApp, error_code};

const VILLAGE: &str = "370305004201";
const TOWNSHIP: &str = "370305004";
const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

pub(crate) const REGISTER: &str = "mutation($i: RegisterHouseholdInput!) {
  registerHousehold(input: $i) { household { id status { code } } } }";

pub(crate) const RAISE: &str = "mutation($i: RaiseAlertInput!) {
  raiseAlert(input: $i) {
    alert { id status { code labelZh } trigger duplicates householdId firstRoundDue overdue }
    position { ledger firstSeq streamVersion }
    duplicate linkedTo
    followUp { command done errorCode errorDetail } } }";

const FIRST_ROUND: &str = "mutation($i: FirstRoundFeedbackInput!) {
  recordFirstRoundFeedback(input: $i) {
    alert { status { code } firstRound { findings riskConfirmed late } }
    position { firstSeq streamVersion } duplicate } }";

const STUDY: &str = "mutation($i: SecondRoundStudyInput!) {
  recordSecondRoundStudy(input: $i) {
    alert { status { code } disposition { code labelZh } study { reason measure { measureType { code } } } }
    duplicate
    followUp { command done errorCode errorDetail errorMessage } } }";

const CLOSE: &str = "mutation($i: AlertNoteInput!) {
  closeAlert(input: $i) { alert { status { code } closedAt } followUp { command done errorCode } } }";

pub(crate) const HOUSEHOLD: &str = "query($id: UUID!) {
  household(id: $id) { status { code } openAlertIds identification { sourceAlert stage { code } } } }";

const QUEUE: &str = "query($r: String, $o: Boolean, $c: Boolean, $f: Int, $a: String) {
  alertQueue(region: $r, overdueOnly: $o, includeClosed: $c, first: $f, after: $a) {
    edges { cursor node { alertId status { code } overdue duplicates disposition { code } } }
    pageInfo { hasNextPage hasPreviousPage } } }";

/// A fictitious but valid resident ID number.
pub(crate) fn id_number(serial: u32) -> String {
    let first17 = format!("37030519800101{serial:03}");
    let check = IdNumber::check_digit(&first17).unwrap();
    format!("{first17}{check}")
}

async fn setup() -> TestApp {
    let app = TestApp::spawn().await;
    app.services
        .store
        .open_ledger(&LedgerId::parse("370305").unwrap())
        .await
        .unwrap();
    app
}

pub(crate) async fn register(app: &TestApp, token: &str, serial: u32) -> Uuid {
    let resp = app
        .gql(
            Some(token),
            REGISTER,
            json!({ "i": {
                "commandId": Uuid::now_v7(),
                "village": VILLAGE,
                "address": "朱台镇某村 1 号",
                "head": {
                    "name": "张三", "idNumber": id_number(serial), "relation": "HEAD",
                    "health": "CHRONIC", "labour": "WEAK", "schooling": "NONE",
                    "employment": "FARMING", "safetyNet": "NONE"
                }
            }}),
        )
        .await;
    let id = resp["data"]["registerHousehold"]["household"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{resp}"));
    id.parse().unwrap()
}

pub(crate) fn raise_input(command_id: Uuid, household: Option<Uuid>, trigger: &str) -> Value {
    json!({
        "commandId": command_id,
        "village": VILLAGE,
        "householdId": household,
        "source": "DEPARTMENT_DATA",
        "department": "MEDICAL_INSURANCE",
        "triggerCode": trigger,
        "triggerText": "个人自付医疗费用超过 2 万元",
        "severity": "HIGH"
    })
}

/// Polls the alert queue until `done` accepts it (the queue is a read model, caught up
/// asynchronously).
async fn queue_until(
    app: &TestApp,
    token: &str,
    vars: Value,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut resp = Value::Null;
    for _ in 0..100 {
        resp = app.gql(Some(token), QUEUE, vars.clone()).await;
        if done(&resp) {
            return resp;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the alert queue never got there: {resp}");
}

#[tokio::test]
async fn an_alert_runs_its_closed_loop_and_the_township_study_opens_identification() {
    let app = setup().await;
    let grid = app.token(Role::GridWorker, VILLAGE).await;
    let township = app.token(Role::TownshipOfficer, TOWNSHIP).await;
    let household = register(&app, &grid, 1).await;

    // Raised by the grid worker from the medical-insurance feed, naming the household.
    let raised = app
        .gql(
            Some(&grid),
            RAISE,
            json!({ "i": raise_input(Uuid::now_v7(), Some(household), "MEDICAL_OUT_OF_POCKET") }),
        )
        .await;
    let r = &raised["data"]["raiseAlert"];
    assert_eq!(
        r["alert"]["status"]["code"], "AWAITING_FIRST_ROUND",
        "{raised}"
    );
    assert_eq!(r["alert"]["status"]["labelZh"], "待村级反馈");
    assert_eq!(r["alert"]["householdId"], household.to_string());
    assert_eq!(r["linkedTo"], Value::Null);
    assert_eq!(r["duplicate"], false);
    assert_eq!(r["followUp"]["command"], "linkAlert");
    assert_eq!(r["followUp"]["done"], true, "{raised}");
    let alert: Uuid = r["alert"]["id"].as_str().unwrap().parse().unwrap();
    let file = app
        .gql(Some(&grid), HOUSEHOLD, json!({ "id": household }))
        .await;
    assert_eq!(
        file["data"]["household"]["openAlertIds"],
        json!([alert.to_string()]),
        "{file}"
    );

    // The same warning again (trigger spelt differently) lands on the open alert.
    let again_id = Uuid::now_v7();
    let again = app
        .gql(
            Some(&grid),
            RAISE,
            json!({ "i": raise_input(again_id, Some(household), " medical_out_of_pocket ") }),
        )
        .await;
    let a = &again["data"]["raiseAlert"];
    assert_eq!(a["linkedTo"], alert.to_string(), "{again}");
    assert_eq!(a["alert"]["id"], alert.to_string());
    assert_eq!(a["alert"]["duplicates"], 1);
    assert_eq!(
        a["position"]["streamVersion"], 2,
        "recorded on the first alert's stream"
    );
    let none = app
        .gql(
            Some(&grid),
            "query($id: UUID!) { alert(id: $id) { id } }",
            json!({ "id": again_id }),
        )
        .await;
    assert_eq!(
        error_code(&none).as_deref(),
        Some("NOT_FOUND"),
        "no second alert stream: {none}"
    );
    // A different trigger is a different alert.
    let other = app
        .gql(
            Some(&grid),
            RAISE,
            json!({ "i": raise_input(Uuid::now_v7(), Some(household), "HOSPITALISED") }),
        )
        .await;
    assert_eq!(
        other["data"]["raiseAlert"]["linkedTo"],
        Value::Null,
        "{other}"
    );

    // The village's first round, then the township's study starting identification.
    let first = app
        .gql(
            Some(&grid),
            FIRST_ROUND,
            json!({ "i": {
                "commandId": Uuid::now_v7(), "alertId": alert,
                "findings": "入户核实：住院自付费用高，家庭收入骤降", "riskConfirmed": true
            }}),
        )
        .await;
    let f = &first["data"]["recordFirstRoundFeedback"]["alert"];
    assert_eq!(f["status"]["code"], "AWAITING_STUDY", "{first}");
    assert_eq!(f["firstRound"]["riskConfirmed"], true);
    assert_eq!(f["firstRound"]["late"], false);

    let study = app
        .gql(Some(&township), STUDY, json!({ "i": {
            "commandId": Uuid::now_v7(), "alertId": alert, "decision": "START_IDENTIFICATION",
            "measure": { "measureType": "MEDICAL", "description": "落实医疗救助，启动识别程序" },
            "application": { "signedAuthorisation": true, "statement": "因病支出骤增", "attachments": [HASH] }
        }}))
        .await;
    let s = &study["data"]["recordSecondRoundStudy"];
    assert_eq!(s["alert"]["status"]["code"], "STUDIED", "{study}");
    assert_eq!(s["alert"]["disposition"]["code"], "START_IDENTIFICATION");
    assert_eq!(
        s["alert"]["study"]["measure"]["measureType"]["code"],
        "MEDICAL"
    );
    assert_eq!(s["followUp"]["command"], "applyForMonitoring");
    if s["followUp"]["done"] != true {
        // The domain lets only village roles file an application (see the alert module): the
        // refusal is reported and the village files it, naming the alert.
        assert_eq!(s["followUp"]["errorCode"], "FORBIDDEN", "{study}");
        let applied = app
            .gql(
                Some(&grid),
                "mutation($i: ApplyForMonitoringInput!) { applyForMonitoring(input: $i) { household { status { code } } } }",
                json!({ "i": {
                    "commandId": Uuid::now_v7(), "householdId": household, "signedAuthorisation": true,
                    "sourceAlert": alert, "attachments": [HASH]
                }}),
            )
            .await;
        assert_eq!(
            applied["data"]["applyForMonitoring"]["household"]["status"]["code"], "IDENTIFYING",
            "{applied}"
        );
    }
    let file = app
        .gql(Some(&grid), HOUSEHOLD, json!({ "id": household }))
        .await;
    let h = &file["data"]["household"];
    assert_eq!(h["status"]["code"], "IDENTIFYING", "{file}");
    assert_eq!(h["identification"]["sourceAlert"], alert.to_string());

    // The procedure goes on from there, step by step, each by its role.
    let verify = "mutation($i: VerificationInput!) { recordHomeVerification(input: $i) {
      household { identification { stage { code } } } } }";
    let team = |ids: Vec<Uuid>| json!({ "i": { "commandId": Uuid::now_v7(), "householdId": household, "verifierIds": ids, "findings": "两人入户核实" } });
    let alone = app
        .gql(Some(&grid), verify, team(vec![Uuid::now_v7()]))
        .await;
    assert_eq!(
        error_code(&alone).as_deref(),
        Some("RULE_VIOLATION"),
        "{alone}"
    );
    let verified = app
        .gql(
            Some(&grid),
            verify,
            team(vec![Uuid::now_v7(), Uuid::now_v7()]),
        )
        .await;
    assert_eq!(
        verified["data"]["recordHomeVerification"]["household"]["identification"]["stage"]["code"],
        "HOME_VERIFIED",
        "{verified}"
    );
    let compare = app
        .gql(
            Some(&grid),
            "mutation($i: DataComparisonInput!) { recordDataComparison(input: $i) { household { id } } }",
            json!({ "i": { "commandId": Uuid::now_v7(), "householdId": household, "passed": true } }),
        )
        .await;
    assert_eq!(
        error_code(&compare).as_deref(),
        Some("FORBIDDEN"),
        "the county compares data: {compare}"
    );
    let secretary = app.token(Role::VillageSecretary, VILLAGE).await;
    let early = app
        .gql(
            Some(&secretary),
            "mutation($i: ReasonInput!) { proposeRemoval(input: $i) { household { id } } }",
            json!({ "i": { "commandId": Uuid::now_v7(), "householdId": household, "reason": "收入稳定" } }),
        )
        .await;
    assert_eq!(
        error_code(&early).as_deref(),
        Some("RULE_VIOLATION"),
        "not monitored yet: {early}"
    );

    // The queue shows it studied, then closing takes it off the open queue and the household.
    let vars = json!({ "r": TOWNSHIP });
    let queue = queue_until(&app, &township, vars.clone(), |q| {
        q["data"]["alertQueue"]["edges"]
            .as_array()
            .is_some_and(|e| {
                e.iter().any(|e| {
                    e["node"]["alertId"] == alert.to_string()
                        && e["node"]["status"]["code"] == "STUDIED"
                })
            })
    })
    .await;
    let edges = queue["data"]["alertQueue"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2, "two open alerts: {queue}");
    let row = edges
        .iter()
        .find(|e| e["node"]["alertId"] == alert.to_string())
        .unwrap();
    assert_eq!(row["node"]["duplicates"], 1);
    assert_eq!(row["node"]["overdue"], false);

    let closed = app.gql(Some(&township), CLOSE, json!({ "i": { "commandId": Uuid::now_v7(), "alertId": alert, "note": "已转入识别程序" } })).await;
    let c = &closed["data"]["closeAlert"];
    assert_eq!(c["alert"]["status"]["code"], "CLOSED", "{closed}");
    assert_eq!(c["followUp"]["command"], "closeLinkedAlert");
    assert_eq!(c["followUp"]["done"], true, "{closed}");
    let file = app
        .gql(Some(&grid), HOUSEHOLD, json!({ "id": household }))
        .await;
    assert_eq!(
        file["data"]["household"]["openAlertIds"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "only the other alert: {file}"
    );

    queue_until(&app, &township, vars, |q| {
        q["data"]["alertQueue"]["edges"]
            .as_array()
            .is_some_and(|e| e.len() == 1)
    })
    .await;
    let all = queue_until(
        &app,
        &township,
        json!({ "r": TOWNSHIP, "c": true, "f": 1 }),
        |q| q["data"]["alertQueue"]["pageInfo"]["hasNextPage"] == true,
    )
    .await;
    let cursor = all["data"]["alertQueue"]["edges"][0]["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let next = app
        .gql(
            Some(&township),
            QUEUE,
            json!({ "r": TOWNSHIP, "c": true, "f": 1, "a": cursor }),
        )
        .await;
    let page = &next["data"]["alertQueue"];
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true, "{next}");
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    assert_eq!(page["edges"].as_array().unwrap().len(), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn alert_mutations_refuse_wrong_roles_and_bad_codes_and_answer_replays_with_the_first_answer()
{
    let app = setup().await;
    let grid = app.token(Role::GridWorker, VILLAGE).await;
    let neighbour = app.token(Role::GridWorker, "370305004202").await;
    let township = app.token(Role::TownshipOfficer, TOWNSHIP).await;
    let household = register(&app, &grid, 2).await;

    let mut bad = raise_input(Uuid::now_v7(), Some(household), "MEDICAL_OUT_OF_POCKET");
    bad["severity"] = json!("URGENT");
    let resp = app.gql(Some(&grid), RAISE, json!({ "i": bad })).await;
    assert_eq!(
        error_code(&resp).as_deref(),
        Some("BAD_USER_INPUT"),
        "{resp}"
    );
    assert_eq!(resp["errors"][0]["extensions"]["field"], "severity");
    let mut no_department = raise_input(Uuid::now_v7(), None, "DISASTER_LIST");
    no_department["department"] = Value::Null;
    let resp = app
        .gql(Some(&grid), RAISE, json!({ "i": no_department }))
        .await;
    assert_eq!(
        error_code(&resp).as_deref(),
        Some("BAD_USER_INPUT"),
        "{resp}"
    );
    assert_eq!(resp["errors"][0]["extensions"]["field"], "department");

    // A replayed raise answers as the first time, without a second alert or link.
    let raise_id = Uuid::now_v7();
    let input = json!({ "i": raise_input(raise_id, Some(household), "MEDICAL_OUT_OF_POCKET") });
    let first = app.gql(Some(&grid), RAISE, input.clone()).await;
    let replay = app.gql(Some(&grid), RAISE, input).await;
    assert_eq!(first["data"]["raiseAlert"]["duplicate"], false, "{first}");
    assert_eq!(replay["data"]["raiseAlert"]["duplicate"], true, "{replay}");
    assert_eq!(
        replay["data"]["raiseAlert"]["position"],
        first["data"]["raiseAlert"]["position"]
    );
    assert_eq!(replay["data"]["raiseAlert"]["alert"]["duplicates"], 0);
    assert_eq!(
        replay["data"]["raiseAlert"]["followUp"]["done"], true,
        "{replay}"
    );
    let alert = first["data"]["raiseAlert"]["alert"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut changed = raise_input(raise_id, Some(household), "MEDICAL_OUT_OF_POCKET");
    changed["severity"] = json!("LOW");
    let resp = app.gql(Some(&grid), RAISE, json!({ "i": changed })).await;
    assert_eq!(
        resp["errors"][0]["extensions"]["field"], "commandId",
        "{resp}"
    );

    // Wrong role, wrong village.
    let feedback = |id: Uuid| json!({ "i": { "commandId": id, "alertId": alert, "findings": "核实属实", "riskConfirmed": true } });
    let resp = app
        .gql(Some(&township), FIRST_ROUND, feedback(Uuid::now_v7()))
        .await;
    assert_eq!(error_code(&resp).as_deref(), Some("FORBIDDEN"), "{resp}");
    let resp = app
        .gql(Some(&neighbour), FIRST_ROUND, feedback(Uuid::now_v7()))
        .await;
    assert_eq!(error_code(&resp).as_deref(), Some("FORBIDDEN"), "{resp}");
    let resp = app
        .gql(
            Some(&neighbour),
            "query($id: UUID!) { alert(id: $id) { id } }",
            json!({ "id": alert }),
        )
        .await;
    assert_eq!(error_code(&resp).as_deref(), Some("NOT_FOUND"), "{resp}");

    // A replayed first round: same position, duplicate.
    let id = Uuid::now_v7();
    let once = app.gql(Some(&grid), FIRST_ROUND, feedback(id)).await;
    let twice = app.gql(Some(&grid), FIRST_ROUND, feedback(id)).await;
    assert_eq!(
        once["data"]["recordFirstRoundFeedback"]["duplicate"], false,
        "{once}"
    );
    assert_eq!(
        twice["data"]["recordFirstRoundFeedback"]["duplicate"], true,
        "{twice}"
    );
    assert_eq!(
        twice["data"]["recordFirstRoundFeedback"]["position"],
        once["data"]["recordFirstRoundFeedback"]["position"]
    );

    // The study: the grid worker may not; a bad decision code, a missing application.
    let study = |decision: &str, application: Value| json!({ "i": { "commandId": Uuid::now_v7(), "alertId": alert, "decision": decision, "reason": "研判", "application": application } });
    let resp = app
        .gql(Some(&grid), STUDY, study("NO_RISK_DISMISSED", Value::Null))
        .await;
    assert_eq!(error_code(&resp).as_deref(), Some("FORBIDDEN"), "{resp}");
    let resp = app
        .gql(Some(&township), STUDY, study("MAYBE", Value::Null))
        .await;
    assert_eq!(
        error_code(&resp).as_deref(),
        Some("BAD_USER_INPUT"),
        "{resp}"
    );
    assert_eq!(resp["errors"][0]["extensions"]["field"], "decision");
    let resp = app
        .gql(
            Some(&township),
            STUDY,
            study("START_IDENTIFICATION", Value::Null),
        )
        .await;
    assert_eq!(
        resp["errors"][0]["extensions"]["field"], "application",
        "{resp}"
    );
    let resp = app
        .gql(
            Some(&township),
            STUDY,
            study(
                "START_IDENTIFICATION",
                json!({ "signedAuthorisation": false, "attachments": [HASH] }),
            ),
        )
        .await;
    assert_eq!(
        error_code(&resp).as_deref(),
        Some("RULE_VIOLATION"),
        "an unsigned authorisation writes nothing: {resp}"
    );
    let dismissed = app
        .gql(
            Some(&township),
            STUDY,
            study("NO_RISK_DISMISSED", Value::Null),
        )
        .await;
    assert_eq!(
        dismissed["data"]["recordSecondRoundStudy"]["alert"]["disposition"]["code"],
        "NO_RISK_DISMISSED",
        "{dismissed}"
    );
    assert_eq!(
        dismissed["data"]["recordSecondRoundStudy"]["followUp"],
        Value::Null
    );

    // The queue: only inside the jurisdiction, a bounded page.
    let resp = app
        .gql(Some(&township), QUEUE, json!({ "r": "370305005" }))
        .await;
    assert_eq!(error_code(&resp).as_deref(), Some("FORBIDDEN"), "{resp}");
    let resp = app.gql(Some(&township), QUEUE, json!({ "f": 500 })).await;
    assert_eq!(resp["errors"][0]["extensions"]["field"], "first", "{resp}");
    let resp = app
        .gql(Some(&township), QUEUE, json!({ "r": "3703%" }))
        .await;
    assert_eq!(resp["errors"][0]["extensions"]["field"], "region", "{resp}");
    app.shutdown().await;
}

#[tokio::test]
async fn an_alert_past_its_first_round_deadline_is_overdue_in_the_queue_and_can_be_escalated() {
    let app = setup().await;
    let grid = app.token(Role::GridWorker, VILLAGE).await;
    let township = app.token(Role::TownshipOfficer, TOWNSHIP).await;
    let mut input = raise_input(Uuid::now_v7(), None, "FLOOD_DAMAGE");
    input["source"] = json!("GRID_SCREENING");
    input["department"] = Value::Null;
    input["occurredAt"] = json!((chrono::Utc::now() - chrono::Duration::days(10)).to_rfc3339());
    let raised = app.gql(Some(&grid), RAISE, json!({ "i": input })).await;
    let alert = raised["data"]["raiseAlert"]["alert"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{raised}"))
        .to_owned();
    assert_eq!(raised["data"]["raiseAlert"]["alert"]["overdue"], true);
    assert_eq!(
        raised["data"]["raiseAlert"]["followUp"],
        Value::Null,
        "no household, no follow-up"
    );

    let queue = queue_until(&app, &township, json!({ "o": true }), |q| {
        q["data"]["alertQueue"]["edges"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
    })
    .await;
    assert_eq!(
        queue["data"]["alertQueue"]["edges"][0]["node"]["alertId"],
        alert
    );
    assert_eq!(
        queue["data"]["alertQueue"]["edges"][0]["node"]["overdue"],
        true
    );

    let escalate = "mutation($i: AlertNoteInput!) { escalateAlert(input: $i) {
      alert { escalationLevel overdueRound { code } escalations { round { code } level } } } }";
    let resp = app
        .gql(
            Some(&township),
            escalate,
            json!({ "i": { "commandId": Uuid::now_v7(), "alertId": alert, "note": "督办" } }),
        )
        .await;
    let a = &resp["data"]["escalateAlert"]["alert"];
    assert_eq!(a["escalationLevel"], 1, "{resp}");
    assert_eq!(a["overdueRound"]["code"], "FIRST_ROUND");
    assert_eq!(a["escalations"][0]["round"]["code"], "FIRST_ROUND");
    let again = app
        .gql(
            Some(&township),
            escalate,
            json!({ "i": { "commandId": Uuid::now_v7(), "alertId": alert } }),
        )
        .await;
    assert_eq!(
        error_code(&again).as_deref(),
        Some("RULE_VIOLATION"),
        "{again}"
    );
    assert_eq!(
        again["errors"][0]["extensions"]["rule"],
        "ALREADY_ESCALATED"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn simultaneous_repeats_of_a_warning_become_one_alert() {
    let app = setup().await;
    let grid = app.token(Role::GridWorker, VILLAGE).await;
    let household = register(&app, &grid, 3).await;
    let raises = (0..4).map(|_| {
        let vars =
            json!({ "i": raise_input(Uuid::now_v7(), Some(household), "MEDICAL_OUT_OF_POCKET") });
        let (app, grid) = (&app, &grid);
        async move { app.gql(Some(grid), RAISE, vars).await }
    });
    let answers = futures_join_all(raises).await;
    let new: Vec<&Value> = answers
        .iter()
        .filter(|a| a["data"]["raiseAlert"]["linkedTo"].is_null())
        .collect();
    assert_eq!(new.len(), 1, "exactly one new alert: {answers:?}");
    let alert = new[0]["data"]["raiseAlert"]["alert"]["id"].clone();
    for a in &answers {
        assert_eq!(a["data"]["raiseAlert"]["alert"]["id"], alert, "{a}");
    }
    let file = app
        .gql(Some(&grid), HOUSEHOLD, json!({ "id": household }))
        .await;
    assert_eq!(
        file["data"]["household"]["openAlertIds"],
        json!([alert]),
        "{file}"
    );
    let read = app
        .gql(
            Some(&grid),
            "query($id: UUID!) { alert(id: $id) { duplicates } }",
            json!({ "id": alert }),
        )
        .await;
    assert_eq!(read["data"]["alert"]["duplicates"], 3, "{read}");
    app.shutdown().await;
}

/// Runs futures concurrently on this task and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|v| v.expect("every future finished"))
        .collect()
}

#[tokio::test]
async fn the_county_sees_stuck_reactions_and_the_village_may_not() {
    let app = setup().await;
    let county = app.token(Role::CountyOfficer, "370305").await;
    let grid = app.token(Role::GridWorker, VILLAGE).await;
    const STUCK: &str =
        "query($r: String) { stuckReactions(regionCode: $r) { reactor errorCode } }";
    let resp = app.gql(Some(&county), STUCK, json!({ "r": null })).await;
    assert_eq!(resp["data"]["stuckReactions"], json!([]), "{resp}");
    let resp = app.gql(Some(&grid), STUCK, json!({ "r": null })).await;
    assert_eq!(error_code(&resp).as_deref(), Some("FORBIDDEN"), "{resp}");
    let resp = app
        .gql(Some(&county), STUCK, json!({ "r": "370303" }))
        .await;
    assert_eq!(error_code(&resp).as_deref(), Some("FORBIDDEN"), "{resp}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_raise_naming_a_household_it_may_not_see_or_a_hostile_trigger_changes_nothing() {
    const NEIGHBOUR: &str = "370305004202";
    let app = setup().await;
    let grid = app.token(Role::GridWorker, VILLAGE).await;
    let county = app.token(Role::CountyOfficer, "370305").await;
    let household = register(&app, &grid, 41).await;
    let neighbour_grid = app.token(Role::GridWorker, NEIGHBOUR).await;
    let resp = app
        .gql(
            Some(&neighbour_grid),
            REGISTER,
            json!({ "i": {
                "commandId": Uuid::now_v7(), "village": NEIGHBOUR, "address": "朱台镇邻村 2 号",
                "head": { "name": "李四", "idNumber": id_number(42), "relation": "HEAD",
                          "health": "HEALTHY", "labour": "NORMAL", "schooling": "NONE",
                          "employment": "FARMING", "safetyNet": "NONE" } }}),
        )
        .await;
    let elsewhere: Uuid = resp["data"]["registerHousehold"]["household"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{resp}"))
        .parse()
        .unwrap();

    let raise = |token: &str, household: Uuid, trigger: &str| {
        let vars = json!({ "i": raise_input(Uuid::now_v7(), Some(household), trigger) });
        let token = token.to_owned();
        let app = &app;
        async move { app.gql(Some(&token), RAISE, vars).await }
    };
    // Another village's household, for a grid worker who cannot see it: it does not exist.
    let resp = raise(&grid, elsewhere, "MEDICAL_OUT_OF_POCKET").await;
    assert_eq!(error_code(&resp).as_deref(), Some("NOT_FOUND"), "{resp}");
    // The county sees it, but the warning names another village: the field says so.
    let resp = raise(&county, elsewhere, "MEDICAL_OUT_OF_POCKET").await;
    assert_eq!(
        error_code(&resp).as_deref(),
        Some("BAD_USER_INPUT"),
        "{resp}"
    );
    assert_eq!(
        resp["errors"][0]["extensions"]["field"], "village",
        "{resp}"
    );
    // No such household at all.
    let resp = raise(&county, Uuid::now_v7(), "MEDICAL_OUT_OF_POCKET").await;
    assert_eq!(error_code(&resp).as_deref(), Some("NOT_FOUND"), "{resp}");
    // A trigger code carrying U+0000, or longer than a code: refused before anything is written.
    for trigger in ["MEDICAL\u{0}", &"X".repeat(65), &"码".repeat(10_000)] {
        let resp = raise(&county, household, trigger).await;
        assert_eq!(
            error_code(&resp).as_deref(),
            Some("BAD_USER_INPUT"),
            "{resp}"
        );
    }
    let claims: i64 = sqlx::query_scalar("select count(*) from es.claim")
        .fetch_one(&app.services.pool)
        .await
        .unwrap();
    assert_eq!(claims, 0, "no refused raise took a key");
    // The same trigger spelt with other case and spaces is the same warning.
    let first = raise(&county, household, "MEDICAL_OUT_OF_POCKET").await;
    let again = raise(&county, household, "  medical_out_of_pocket ").await;
    let id = &first["data"]["raiseAlert"]["alert"]["id"];
    assert!(id.is_string(), "{first}");
    assert_eq!(again["data"]["raiseAlert"]["linkedTo"], *id, "{again}");
    app.shutdown().await;
}
