//! The whole story of one household, as the right roles, over GraphQL: a medical-insurance
//! alert → the grid worker's first-round feedback → the township's study → identification →
//! county approval → measures → monthly incomes → removal refused while too early (with every
//! reason) → eligible → the removal procedure → removed. Then an auditor reconstructs the file
//! as of the middle of the story, a spot-checker sees only its sample (masked), every role is
//! refused outside its jurisdiction, a replayed command id returns the first answer, and a batch
//! with one bad item applies the rest.

use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use dixian_domain::{IdNumber, Role, china_date};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestApp, error_code};

const VILLAGE: &str = "370305004201";
const OTHER_VILLAGE: &str = "370305004202";
const TOWNSHIP: &str = "370305004";
const COUNTY: &str = "370305";
const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn days_ago(n: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::days(n)
}

fn id_number(serial: u32) -> String {
    let first17 = format!("37030519750312{serial:03}");
    format!("{first17}{}", IdNumber::check_digit(&first17).unwrap())
}

struct Cast {
    grid: String,
    secretary: String,
    township: String,
    county: String,
    auditor: String,
}

/// Runs a mutation and returns its payload, failing loudly with the whole response.
async fn ok(
    app: &TestApp,
    token: &str,
    field: &str,
    input_type: &str,
    selection: &str,
    input: Value,
) -> Value {
    let doc = format!("mutation($i: {input_type}!) {{ {field}(input: $i) {{ {selection} }} }}");
    let resp = app.gql(Some(token), &doc, json!({ "i": input })).await;
    assert!(resp["errors"].is_null(), "{field} failed: {resp}");
    resp["data"][field].clone()
}

async fn step(app: &TestApp, token: &str, field: &str, input_type: &str, input: Value) -> Value {
    ok(app, token, field, input_type, "household { status { code } identification { stage { code } } removal { stage { code } } } position { ledger lastSeq } duplicate", input).await
}

async fn register(
    app: &TestApp,
    token: &str,
    village: &str,
    serial: u32,
    at: DateTime<Utc>,
) -> Uuid {
    let p = ok(app, token, "registerHousehold", "RegisterHouseholdInput", "household { id }", json!({
        "commandId": Uuid::now_v7(), "village": village, "address": "稷下街道 合理村 8 号",
        "head": { "name": "刘桂兰", "idNumber": id_number(serial), "relation": "HEAD", "health": "CHRONIC",
                  "labour": "WEAK", "schooling": "NONE", "employment": "FARMING", "safetyNet": "NONE",
                  "phone": "13800135678" },
        "occurredAt": at,
    })).await;
    p["household"]["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_household_goes_from_a_medical_insurance_alert_to_risk_removal() {
    let app = TestApp::spawn().await;
    let cast = Cast {
        grid: app.token(Role::GridWorker, VILLAGE).await,
        secretary: app.token(Role::VillageSecretary, VILLAGE).await,
        township: app.token(Role::TownshipOfficer, TOWNSHIP).await,
        county: app.token(Role::CountyOfficer, COUNTY).await,
        auditor: app.token(Role::Auditor, COUNTY).await,
    };
    let h = register(&app, &cast.grid, VILLAGE, 1, days_ago(300)).await;

    // 研判预警: the medical-insurance feed flags the household; the village answers first.
    // `followUp` selected: the answer waits for the household's file to record the link.
    let raised = ok(&app, &cast.county, "raiseAlert", "RaiseAlertInput", "alert { id } followUp { done }", json!({
        "commandId": Uuid::now_v7(), "village": VILLAGE, "householdId": h, "source": "DEPARTMENT_DATA",
        "department": "MEDICAL_INSURANCE", "triggerCode": "MEDICAL_OUT_OF_POCKET",
        "triggerText": "年度个人自付医疗费用超过 2 万元", "severity": "HIGH", "occurredAt": days_ago(290),
    })).await;
    let alert = raised["alert"]["id"].as_str().unwrap().to_owned();
    ok(&app, &cast.grid, "recordFirstRoundFeedback", "FirstRoundFeedbackInput", "alert { status { code } }", json!({
        "commandId": Uuid::now_v7(), "alertId": alert, "findings": "入户核实：住院自付费用高", "riskConfirmed": true,
        "occurredAt": days_ago(289),
    })).await;
    ok(&app, &cast.township, "recordSecondRoundStudy", "SecondRoundStudyInput", "alert { status { code } } followUp { done }", json!({
        "commandId": Uuid::now_v7(), "alertId": alert, "decision": "START_IDENTIFICATION",
        "measure": { "measureType": "MEDICAL", "description": "落实医疗救助" },
        "application": { "signedAuthorisation": true, "statement": "因病支出骤增", "attachments": [HASH] },
        "occurredAt": days_ago(288),
    })).await;

    // 识别纳入: the township's study itself opened the household's identification.
    let file = app.gql(Some(&cast.grid), "query($id: UUID!) { household(id: $id) { status { code } identification { sourceAlert } } }", json!({ "id": h })).await;
    assert_eq!(
        file["data"]["household"]["status"]["code"], "IDENTIFYING",
        "{file}"
    );
    assert_eq!(
        file["data"]["household"]["identification"]["sourceAlert"],
        alert.as_str()
    );
    // … and every step follows, each by its role.
    let verifiers = [Uuid::now_v7(), Uuid::now_v7()];
    step(&app, &cast.grid, "recordHomeVerification", "VerificationInput", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "verifierIds": verifiers, "findings": "两人入户核实属实",
        "attachments": [HASH], "occurredAt": days_ago(287),
    })).await;
    step(&app, &cast.county, "recordDataComparison", "DataComparisonInput", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "passed": true, "flags": [], "notes": "房产车辆工商均无",
        "occurredAt": days_ago(286),
    })).await;
    step(&app, &cast.secretary, "recordDemocraticReview", "DemocraticReviewInput", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "minutes": "村民代表会议评议通过", "attendees": 15,
        "result": "APPROVE", "attachments": [HASH], "occurredAt": days_ago(285),
    })).await;
    step(&app, &cast.secretary, "startPublicNotice", "StartNoticeInput", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "start": china_date(days_ago(285)), "attachments": [HASH],
        "occurredAt": days_ago(285),
    })).await;
    step(
        &app,
        &cast.secretary,
        "closeNotice",
        "HouseholdStepInput",
        json!({
            "commandId": Uuid::now_v7(), "householdId": h, "occurredAt": days_ago(279),
        }),
    )
    .await;
    step(&app, &cast.township, "recordTownshipReview", "TownshipReviewInput", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "decision": "APPROVE", "opinion": "同意纳入",
        "occurredAt": days_ago(278),
    })).await;
    let approved = step(&app, &cast.county, "approveInclusion", "ApproveInclusionInput", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "category": "MARGINAL", "riskTypes": ["ILLNESS"],
        "baselinePerCapitaFen": 420000, "opinion": "认定为边缘易致贫户", "occurredAt": days_ago(277),
    })).await;
    assert_eq!(approved["household"]["status"]["code"], "MONITORED");

    // 精准帮扶: a plan and a measure for the household's one risk type.
    ok(&app, &cast.township, "createAssistancePlan", "CreateAssistancePlanInput", "duplicate", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "summary": "一户一策：医疗救助 + 公益岗位", "occurredAt": days_ago(276),
    })).await;
    ok(&app, &cast.township, "addMeasure", "AddMeasureInput", "duplicate", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "measureType": "MEDICAL", "department": "区医保局",
        "description": "大病医疗救助", "amountFen": 1200000, "startDate": china_date(days_ago(276)),
        "endDate": china_date(days_ago(-90)), "riskTypes": ["ILLNESS"], "occurredAt": days_ago(276),
    })).await;

    // 宽进严出: too early — refused with every failing reason at once, nothing written.
    let early = app.gql(Some(&cast.secretary), "mutation($i: ReasonInput!) { proposeRemoval(input: $i) { duplicate } }", json!({ "i": {
        "commandId": Uuid::now_v7(), "householdId": h, "reason": "收入好转", "occurredAt": days_ago(200),
    }})).await;
    assert_eq!(
        error_code(&early).as_deref(),
        Some("RULE_VIOLATION"),
        "{early}"
    );
    assert_eq!(
        early["errors"][0]["extensions"]["rule"],
        "REMOVAL_NOT_ELIGIBLE"
    );
    let reasons: Vec<String> = early["errors"][0]["extensions"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect();
    for expected in [
        "MONITORED_TOO_SHORT",
        "INCOME_NOT_STABLY_ABOVE_LINE",
        "LIVING_CONDITIONS_NOT_ASSESSED",
        "OPEN_ALERTS",
    ] {
        assert!(
            reasons.contains(&expected.to_owned()),
            "{expected} missing from {reasons:?}"
        );
    }

    // The alert ends; incomes are recorded month by month, stably above the line; conditions secure.
    ok(&app, &cast.township, "closeAlert", "AlertNoteInput", "alert { status { code } }", json!({
        "commandId": Uuid::now_v7(), "alertId": alert, "note": "已纳入监测并落实帮扶", "occurredAt": days_ago(199),
    })).await;
    let now = Utc::now();
    for back in (1..=8).rev() {
        let month = now.checked_sub_months(chrono::Months::new(back)).unwrap();
        let window_end = format!("{:04}-{:02}", month.year(), month.month());
        let recorded = (month + chrono::Duration::days(28)).min(now);
        step(&app, &cast.grid, "recordIncome", "RecordIncomeInput", json!({
            "commandId": Uuid::now_v7(), "householdId": h, "windowEnd": window_end, "wageFen": 900000 + 10000 * (8 - back as i64),
            "businessFen": 150000, "propertyFen": 0, "transferFen": 60000, "occurredAt": recorded,
        })).await;
    }
    step(&app, &cast.grid, "assessLivingConditions", "AssessLivingConditionsInput", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "foodClothingSecure": true, "compulsoryEducationSecure": true,
        "basicMedicalSecure": true, "housingSecure": true, "drinkingWaterSecure": true, "occurredAt": days_ago(20),
    })).await;
    let verdict = app.gql(Some(&cast.secretary), "query($id: UUID!) { removalEligibility(householdId: $id) { eligible reasons { code } } }", json!({ "id": h })).await;
    assert_eq!(
        verdict["data"]["removalEligibility"],
        json!({ "eligible": true, "reasons": [] }),
        "{verdict}"
    );

    // 风险消除: the same strict steps as identification.
    step(&app, &cast.secretary, "proposeRemoval", "ReasonInput", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "reason": "收入稳定超过监测线", "occurredAt": days_ago(12),
    })).await;
    step(&app, &cast.grid, "recordRemovalVerification", "VerificationInput", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "verifierIds": verifiers, "findings": "核实收入稳定",
        "attachments": [HASH], "occurredAt": days_ago(11),
    })).await;
    step(&app, &cast.secretary, "recordRemovalDemocraticReview", "DemocraticReviewInput", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "minutes": "评议同意风险消除", "attendees": 14, "result": "APPROVE",
        "attachments": [HASH], "occurredAt": days_ago(10),
    })).await;
    step(&app, &cast.secretary, "startRemovalNotice", "StartNoticeInput", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "start": china_date(days_ago(10)), "attachments": [HASH], "occurredAt": days_ago(10),
    })).await;
    step(
        &app,
        &cast.secretary,
        "closeRemovalNotice",
        "HouseholdStepInput",
        json!({
            "commandId": Uuid::now_v7(), "householdId": h, "occurredAt": days_ago(4),
        }),
    )
    .await;
    step(&app, &cast.township, "recordRemovalTownshipReview", "TownshipReviewInput", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "decision": "APPROVE", "opinion": "同意", "occurredAt": days_ago(3),
    })).await;
    let removed = step(&app, &cast.county, "approveRemoval", "ApproveRemovalInput", json!({
        "commandId": Uuid::now_v7(), "householdId": h, "opinion": "风险已消除", "occurredAt": days_ago(2),
    })).await;
    assert_eq!(
        removed["household"]["status"]["code"], "RISK_REMOVED",
        "{removed}"
    );

    // 督导检查: the auditor reconstructs the file in the middle of the story.
    let q = "query($id: UUID!, $k: DateTime, $a: DateTime) { household(id: $id, knownAt: $k, asOf: $a) {
        status { code } identification { stage { code } } episodes { number } incomes { windowEnd }
        timeline { eventType recordedAt } } }";
    let full = app.gql(Some(&cast.auditor), q, json!({ "id": h })).await;
    let timeline = full["data"]["household"]["timeline"]
        .as_array()
        .unwrap()
        .clone();
    let approval = timeline
        .iter()
        .find(|e| e["eventType"] == "InclusionApproved")
        .expect("approval in the timeline");
    let approved_at: DateTime<Utc> = approval["recordedAt"].as_str().unwrap().parse().unwrap();
    let known = app
        .gql(
            Some(&cast.auditor),
            q,
            json!({ "id": h, "k": approved_at - chrono::Duration::microseconds(1) }),
        )
        .await;
    assert_eq!(
        known["data"]["household"]["status"]["code"], "IDENTIFYING",
        "as known just before approval: {known}"
    );
    assert_eq!(known["data"]["household"]["episodes"], json!([]));
    let was = app
        .gql(
            Some(&cast.auditor),
            q,
            json!({ "id": h, "a": days_ago(282) }),
        )
        .await;
    assert_eq!(
        was["data"]["household"]["status"]["code"], "IDENTIFYING",
        "as it was 282 days ago: {was}"
    );
    assert_eq!(
        was["data"]["household"]["identification"]["stage"]["code"],
        "NOTICE_OPEN"
    );
    assert_eq!(was["data"]["household"]["incomes"], json!([]));
    let trail = app.gql(Some(&cast.auditor), "query($s: String!) { auditTrail(streamId: $s) { seq actorRole occurredAt recordedAt hash } }", json!({ "s": format!("household-{h}") })).await;
    assert_eq!(
        trail["data"]["auditTrail"].as_array().unwrap().len(),
        timeline.len()
    );
    let integrity = app
        .gql(
            Some(&cast.auditor),
            "query($h: UUID) { verifyIntegrity(householdId: $h) { ok checked } }",
            json!({ "h": h }),
        )
        .await;
    assert_eq!(
        integrity["data"]["verifyIntegrity"]["ok"], true,
        "{integrity}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_spot_checker_sees_only_its_sample_masked_and_roles_stay_inside_their_jurisdiction() {
    let app = TestApp::spawn().await;
    let grid = app.token(Role::GridWorker, VILLAGE).await;
    let county = app.token(Role::CountyOfficer, COUNTY).await;
    let mut ids = Vec::new();
    for serial in 0..4 {
        ids.push(register(&app, &grid, VILLAGE, 10 + serial, days_ago(30)).await);
    }
    let head: i64 = sqlx::query_scalar("select last_seq from es.ledger where ledger = '370305'")
        .fetch_one(&app.services.pool)
        .await
        .unwrap();
    assert!(
        app.services
            .runner
            .wait_for("casework", "370305", head, Duration::from_secs(10))
            .await
            .unwrap()
    );

    // A sample of one, granted to a third-party evaluator.
    let checker_token = app.token(Role::SpotChecker, COUNTY).await;
    let me = app
        .gql(Some(&checker_token), "{ me { id } }", json!({}))
        .await;
    let checker = me["data"]["me"]["id"].as_str().unwrap().to_owned();
    let sample = ok(&app, &county, "grantSample", "GrantSampleInput", "population households { householdId key }", json!({
        "commandId": Uuid::now_v7(), "userId": checker, "region": TOWNSHIP, "size": 1, "seed": "2026-第三方-1",
    })).await;
    assert_eq!(sample["population"], 4);
    let sampled = sample["households"][0]["householdId"]
        .as_str()
        .unwrap()
        .to_owned();
    // Anyone can recompute the draw: same seed, same household.
    let again = app.gql(Some(&county), "query { spotCheckSample(region: \"370305004\", size: 1, seed: \"2026-第三方-1\") { households { householdId } } }", json!({})).await;
    assert_eq!(
        again["data"]["spotCheckSample"]["households"][0]["householdId"],
        sampled
    );

    let listed = app
        .gql(
            Some(&checker_token),
            "{ households { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let listed: Vec<&str> = listed["data"]["households"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![sampled.as_str()]);
    let seen = app
        .gql(
            Some(&checker_token),
            "query($id: UUID!) { household(id: $id) { members { idNumber phone } } }",
            json!({ "id": sampled }),
        )
        .await;
    let member = &seen["data"]["household"]["members"][0];
    assert!(
        member["idNumber"].as_str().unwrap().contains("********"),
        "masked: {seen}"
    );
    assert_eq!(member["phone"], "138****5678");
    let full = app
        .gql(
            Some(&checker_token),
            "query($id: UUID!) { household(id: $id) { members { idNumberFull } } }",
            json!({ "id": sampled }),
        )
        .await;
    assert_eq!(error_code(&full).as_deref(), Some("FORBIDDEN"));
    let other = ids.iter().find(|i| i.to_string() != sampled).unwrap();
    let hidden = app
        .gql(
            Some(&checker_token),
            "query($id: UUID!) { household(id: $id) { id } }",
            json!({ "id": other }),
        )
        .await;
    assert_eq!(error_code(&hidden).as_deref(), Some("NOT_FOUND"));

    // A grid worker may read the full ID number; the read is logged.
    let opened = app
        .gql(
            Some(&grid),
            "query($id: UUID!) { household(id: $id) { members { idNumberFull } } }",
            json!({ "id": other }),
        )
        .await;
    assert_eq!(
        opened["data"]["household"]["members"][0]["idNumberFull"]
            .as_str()
            .unwrap()
            .len(),
        18
    );
    let logged: i64 =
        sqlx::query_scalar("select count(*) from audit.pii_access where household_id = $1")
            .bind(other)
            .fetch_one(&app.services.pool)
            .await
            .unwrap();
    assert_eq!(logged, 1);

    // Found by ID number through its keyed hash, inside the jurisdiction only.
    let found = app
        .gql(
            Some(&grid),
            "query($n: String!) { householdByIdNumber(idNumber: $n) { id } }",
            json!({ "n": id_number(10) }),
        )
        .await;
    assert_eq!(
        found["data"]["householdByIdNumber"],
        json!([{ "id": ids[0].to_string() }]),
        "{found}"
    );
    let far = app.token(Role::GridWorker, OTHER_VILLAGE).await;
    let not_found = app
        .gql(
            Some(&far),
            "query($n: String!) { householdByIdNumber(idNumber: $n) { id } }",
            json!({ "n": id_number(10) }),
        )
        .await;
    assert_eq!(not_found["data"]["householdByIdNumber"], json!([]));
    let bad = app
        .gql(
            Some(&grid),
            "query { householdByIdNumber(idNumber: \"370305197503120101\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "idNumber", "{bad}");

    // Outside their jurisdiction: a grid worker of another village, a township officer of another
    // township, a county officer of another county.
    let stranger = app.token(Role::GridWorker, OTHER_VILLAGE).await;
    let visit = app.gql(Some(&stranger), "mutation($i: RecordVisitInput!) { recordVisit(input: $i) { duplicate } }", json!({ "i": {
        "commandId": Uuid::now_v7(), "householdId": other, "kind": "ROUTINE_GRID_VISIT", "findings": "—" } })).await;
    assert_eq!(error_code(&visit).as_deref(), Some("FORBIDDEN"), "{visit}");
    let far_township = app.token(Role::TownshipOfficer, "370305005").await;
    let read = app
        .gql(
            Some(&far_township),
            "query($id: UUID!) { household(id: $id) { id } }",
            json!({ "id": other }),
        )
        .await;
    assert_eq!(
        error_code(&read).as_deref(),
        Some("NOT_FOUND"),
        "existence does not leak: {read}"
    );
    let far_county = app.token(Role::CountyOfficer, "370303").await;
    let list = app
        .gql(
            Some(&far_county),
            "{ households(filter: { region: \"370305\" }) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&list).as_deref(), Some("FORBIDDEN"));
    let trail = app
        .gql(
            Some(&far_county),
            "query($s: String!) { auditTrail(streamId: $s) { seq } }",
            json!({ "s": format!("household-{other}") }),
        )
        .await;
    assert_eq!(error_code(&trail).as_deref(), Some("NOT_FOUND"), "{trail}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_replayed_command_returns_the_first_answer_and_a_batch_applies_all_but_its_bad_item() {
    let app = TestApp::spawn().await;
    let grid = app.token(Role::GridWorker, VILLAGE).await;
    let h = register(&app, &grid, VILLAGE, 40, days_ago(10)).await;
    // The device's clock stamps the visit once; a retry resends the same input.
    let visited_at = days_ago(1);
    let visit = |command_id: Uuid, findings: &str| {
        json!({
            "commandId": command_id, "householdId": h, "kind": "ROUTINE_GRID_VISIT", "findings": findings,
            "wallMaterialsChecked": true, "attachments": [HASH], "occurredAt": visited_at,
        })
    };
    let command_id = Uuid::now_v7();
    let first = step(
        &app,
        &grid,
        "recordVisit",
        "RecordVisitInput",
        visit(command_id, "家中整洁，情况稳定"),
    )
    .await;
    let again = step(
        &app,
        &grid,
        "recordVisit",
        "RecordVisitInput",
        visit(command_id, "家中整洁，情况稳定"),
    )
    .await;
    assert_eq!(first["duplicate"], false);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["position"], first["position"], "the first answer");
    let reused = app
        .gql(
            Some(&grid),
            "mutation($i: RecordVisitInput!) { recordVisit(input: $i) { duplicate } }",
            json!({ "i": visit(command_id, "另一份记录") }),
        )
        .await;
    assert_eq!(error_code(&reused).as_deref(), Some("BAD_USER_INPUT"));
    assert_eq!(reused["errors"][0]["extensions"]["field"], "commandId");

    // Offline capture: three items, the middle one invalid; the others are applied.
    let batch = app.gql(Some(&grid), "mutation($items: [BatchCommand!]!) { submitBatch(items: $items) {
        index ok duplicate householdId position { lastSeq } error { code field } } }", json!({ "items": [
        { "recordVisit": visit(Uuid::now_v7(), "离线走访一") },
        { "recordIncome": { "commandId": Uuid::now_v7(), "householdId": h, "windowEnd": "2026-10", "wageFen": -5,
                            "businessFen": 0, "propertyFen": 0, "transferFen": 0 } },
        { "recordVisit": visit(command_id, "家中整洁，情况稳定") },
        { "tagFocusGroup": { "commandId": Uuid::now_v7(), "householdId": h, "group": "ELDERLY_OR_CHILD", "reason": "独居老人" } },
    ]})).await;
    let results = batch["data"]["submitBatch"]
        .as_array()
        .unwrap_or_else(|| panic!("{batch}"));
    assert_eq!(
        results
            .iter()
            .map(|r| r["ok"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        vec![true, false, true, true]
    );
    assert_eq!(results[1]["error"]["code"], "BAD_USER_INPUT");
    assert_eq!(results[1]["error"]["field"], "wageFen");
    assert_eq!(
        results[2]["duplicate"], true,
        "a replay inside a batch is answered, not re-applied"
    );
    let file = app.gql(Some(&grid), "query($id: UUID!) { household(id: $id) { visits { findings } incomes { id } focusGroups { group { code } } } }", json!({ "id": h })).await;
    assert_eq!(
        file["data"]["household"]["visits"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        file["data"]["household"]["incomes"],
        json!([]),
        "nothing of the bad item was written"
    );
    assert_eq!(
        file["data"]["household"]["focusGroups"][0]["group"]["code"],
        "ELDERLY_OR_CHILD"
    );
    app.shutdown().await;
}

/// Issue 10's critical finding, sent as the attacker sent it: U+0000 in a visit's findings
/// used to be appended and then stop every read model of the county.
#[tokio::test]
async fn control_and_bidi_characters_are_refused_naming_the_field_and_the_lists_keep_updating() {
    let app = TestApp::spawn().await;
    let grid = app.token(Role::GridWorker, VILLAGE).await;
    let county = app.token(Role::CountyOfficer, "370305").await;
    let h = register(&app, &grid, VILLAGE, 41, days_ago(10)).await;
    const VISIT: &str = "mutation($i: RecordVisitInput!) { recordVisit(input: $i) { duplicate } }";
    let visit = |findings: &str| {
        json!({ "i": {
            "commandId": Uuid::now_v7(), "householdId": h, "kind": "ROUTINE_GRID_VISIT",
            "findings": findings, "wallMaterialsChecked": true, "attachments": [HASH],
        }})
    };
    for bad in ["a\u{0}b", "a\u{1b}[2Jb", "费用\u{202e}000,05"] {
        let resp = app.gql(Some(&grid), VISIT, visit(bad)).await;
        assert_eq!(
            error_code(&resp).as_deref(),
            Some("BAD_USER_INPUT"),
            "{resp}"
        );
        assert_eq!(
            resp["errors"][0]["extensions"]["field"], "findings",
            "{resp}"
        );
    }
    let ok = app.gql(Some(&grid), VISIT, visit("第一行\n第二行")).await;
    assert_eq!(ok["data"]["recordVisit"]["duplicate"], false, "{ok}");

    // The county's read models still move: a household registered afterwards is listed.
    let later = register(&app, &grid, VILLAGE, 42, days_ago(1)).await;
    let mut listed = false;
    for _ in 0..100 {
        let list = app
            .gql(
                Some(&county),
                "{ households(filter: { region: \"370305\" }, first: 100) { edges { node { id } } } }",
                json!({}),
            )
            .await;
        let ids: Vec<String> = list["data"]["households"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{list}"))
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        if ids.contains(&later.to_string()) {
            listed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(listed, "the household list kept updating");
    app.shutdown().await;
}
