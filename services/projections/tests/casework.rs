//! The casework read models against a real PostgreSQL, fed by real domain decisions: every
//! event here was decided by `Household::decide` / `Alert::decide` and appended at the
//! stream's exact version, as the service does.
//!
//! The helpers at the top (actors, calendar, command builders, [`Stream`] and the procedure
//! walks) are meant to be reusable by other test suites.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use dixian_domain::alert::*;
use dixian_domain::alert::{Alert, AlertCommand, AlertSource, AlertState, Department, Severity};
use dixian_domain::calendar::YearMonth;
use dixian_domain::decider::Decider;
use dixian_domain::household::*;
use dixian_domain::household::{
    Household, HouseholdCommand, HouseholdState, IncomeComponents, LivingConditions, VisitChecklist,
};
use dixian_domain::vocab::{
    Category, FocusGroup, LabourCapacity, MeasureType, MemberChangeReason, Relation, ReviewResult,
    RiskType, StudyDecision, TownshipDecision, VisitKind,
};
use dixian_domain::{Command, Fact};
use dixian_projections::casework::Casework;
use dixian_projections::rebuild::{rebuild, replay_into};
use dixian_projections::{Runner, table_digest};
use dixian_store::{AppendRequest, EventStore, ExpectedVersion, LedgerId, NewEvent, db};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

// ── the village, its people and its calendar ──────────────────────────────────────────────

pub const LEDGER: &str = "370305";
pub const TOWNSHIP: &str = "370305101";
pub const VILLAGE: &str = "370305101201";

// Actors, the calendar, policy and members are the shared test kit's.
pub use dixian_testkit::household::{hash, member};
pub use dixian_testkit::{
    actor, code, county, date_of, day, grid_worker, id, policy, secretary, township,
};

// ── household commands ────────────────────────────────────────────────────────────────────

pub fn register(household_id: Uuid, formerly_poor: bool) -> Command<HouseholdCommand> {
    Command::new(
        grid_worker(),
        day(0),
        RegisterHousehold {
            household_id,
            village: code(VILLAGE),
            grid: Some(dixian_domain::GridId::parse(&format!("{VILLAGE}-2")).unwrap()),
            address: "齐都镇某村3号".into(),
            formerly_poor,
            head: member(1, Relation::Head, LabourCapacity::Normal),
        },
    )
}

pub fn add_spouse(at: i64) -> Command<HouseholdCommand> {
    Command::new(
        grid_worker(),
        day(at),
        AddMember {
            member: member(2, Relation::Spouse, LabourCapacity::Normal),
            reason: MemberChangeReason::MarriageIn,
            date: date_of(at),
        },
    )
}

pub fn tag(group: FocusGroup, at: i64) -> Command<HouseholdCommand> {
    Command::new(
        grid_worker(),
        day(at),
        TagFocusGroup {
            group,
            reason: format!("{}：网格排查发现", group.label_zh()),
        },
    )
}

pub fn untag(group: FocusGroup, at: i64) -> Command<HouseholdCommand> {
    Command::new(
        grid_worker(),
        day(at),
        UntagFocusGroup {
            group,
            reason: "情况好转".into(),
        },
    )
}

pub fn visit(n: u128, at: i64) -> Command<HouseholdCommand> {
    Command::new(
        grid_worker(),
        day(at),
        RecordVisit {
            visit_id: id(n),
            kind: VisitKind::RoutineGridVisit,
            checklist: VisitChecklist {
                wall_materials_checked: true,
                situation_discussed: true,
                living_conditions_checked: true,
            },
            findings: "家中情况稳定".into(),
            attachments: vec![hash(1)],
            alert_id: None,
        },
    )
}

pub fn record_income(
    n: u128,
    window_end: &str,
    total_fen: i64,
    at: i64,
) -> Command<HouseholdCommand> {
    Command::new(
        grid_worker(),
        day(at),
        RecordIncome {
            income_id: id(n),
            window_end: YearMonth::parse(window_end).unwrap(),
            components: IncomeComponents {
                wage_fen: total_fen,
                ..IncomeComponents::default()
            },
            notes: String::new(),
        },
    )
}

pub fn assess(n: u128, at: i64) -> Command<HouseholdCommand> {
    Command::new(
        grid_worker(),
        day(at),
        AssessLivingConditions {
            assessment_id: id(n),
            conditions: LivingConditions::ALL_SECURE,
            notes: String::new(),
        },
    )
}

pub fn apply_for_monitoring(n: u128, at: i64) -> Command<HouseholdCommand> {
    Command::new(
        grid_worker(),
        day(at),
        ApplyForMonitoring {
            application_id: id(n),
            signed_authorisation: true,
            clue_found_on: None,
            source_alert: None,
            statement: "户主突发疾病，医疗支出大".into(),
            attachments: vec![hash(2)],
        },
    )
    .under(policy())
}

/// The identification steps after the application, each on its own day from `from`, up to
/// the township's approval (`from + 10`).
pub fn identification_steps(from: i64) -> Vec<Command<HouseholdCommand>> {
    vec![
        Command::new(
            township(),
            day(from),
            RecordVerification {
                verifier_ids: vec![id(101), id(104)],
                findings: "入户核实：住院自付费用较高".into(),
                attachments: vec![hash(3)],
                track: Inclusion,
            },
        )
        .under(policy()),
        Command::new(
            county(),
            day(from + 1),
            RecordDataComparison {
                passed: true,
                flags: vec![],
                notes: "无车辆、无工商登记".into(),
            },
        ),
        Command::new(
            secretary(),
            day(from + 2),
            RecordDemocraticReview {
                minutes: "村民代表会议评议，同意纳入".into(),
                attendees: 11,
                result: ReviewResult::Approve,
                attachments: vec![hash(4)],
                track: Inclusion,
            },
        ),
        Command::new(
            secretary(),
            day(from + 2),
            StartPublicNotice {
                start: date_of(from + 2),
                attachments: vec![hash(5)],
                track: Inclusion,
            },
        ),
        Command::new(secretary(), day(from + 8), CloseNotice { track: Inclusion }).under(policy()),
        Command::new(
            township(),
            day(from + 9),
            RecordTownshipReview {
                decision: TownshipDecision::Approve,
                opinion: "同意".into(),
                track: Inclusion,
            },
        ),
    ]
}

pub fn approve_inclusion(
    episode: u128,
    category: Category,
    risk_types: &[RiskType],
    at: i64,
) -> Command<HouseholdCommand> {
    Command::new(
        county(),
        day(at),
        ApproveInclusion {
            episode_id: id(episode),
            category,
            risk_types: risk_types.to_vec(),
            baseline_per_capita_fen: 450_000,
            opinion: "同意纳入".into(),
        },
    )
}

pub fn reject_inclusion(at: i64) -> Command<HouseholdCommand> {
    Command::new(
        county(),
        day(at),
        RejectInclusion {
            reason: "信息比对发现家庭有商品房".into(),
        },
    )
}

pub fn open_green_channel(at: i64) -> Command<HouseholdCommand> {
    Command::new(
        secretary(),
        day(at),
        OpenGreenChannel {
            risk_type: RiskType::Disaster,
            reason: "暴雨致房屋倒塌".into(),
        },
    )
    .under(policy())
}

pub fn create_plan(n: u128, at: i64) -> Command<HouseholdCommand> {
    Command::new(
        secretary(),
        day(at),
        CreateAssistancePlan {
            plan_id: id(n),
            summary: "医疗救助 + 公益岗位".into(),
            helper_user_id: Some(id(103)),
        },
    )
}

pub fn add_measure(n: u128, risk_types: &[RiskType], at: i64) -> Command<HouseholdCommand> {
    Command::new(
        secretary(),
        day(at),
        AddMeasure {
            measure_id: id(n),
            measure_type: MeasureType::Medical,
            department: "区医保局".into(),
            description: "大病保险二次报销".into(),
            amount_fen: 300_000,
            start_date: date_of(at),
            end_date: date_of(at + 365),
            risk_types: risk_types.to_vec(),
        },
    )
}

/// Six income windows above the line (February–July 2024) and a secure assessment, recorded
/// on day `at` (≥ 200): with a measure per risk, eligible for removal.
pub fn eligibility_records(at: i64) -> Vec<Command<HouseholdCommand>> {
    let mut out: Vec<Command<HouseholdCommand>> = [
        "2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07",
    ]
    .iter()
    .enumerate()
    .map(|(i, m)| record_income(900 + i as u128, m, 2 * 900_000, at))
    .collect();
    out.push(assess(950, at));
    out
}

/// The removal procedure from proposal (day `from`) to the county's approval (`from + 10`).
pub fn removal_steps(from: i64) -> Vec<Command<HouseholdCommand>> {
    vec![
        Command::new(
            secretary(),
            day(from),
            ProposeRemoval {
                reason: "收入稳定超过监测线，医疗费用已解决".into(),
            },
        )
        .under(policy()),
        Command::new(
            grid_worker(),
            day(from + 1),
            RecordVerification {
                verifier_ids: vec![id(101), id(104)],
                findings: "风险已消除".into(),
                attachments: vec![hash(6)],
                track: Removal,
            },
        )
        .under(policy()),
        Command::new(
            secretary(),
            day(from + 2),
            RecordDemocraticReview {
                minutes: "评议同意风险消除".into(),
                attendees: 9,
                result: ReviewResult::Approve,
                attachments: vec![hash(7)],
                track: Removal,
            },
        ),
        Command::new(
            secretary(),
            day(from + 2),
            StartPublicNotice {
                start: date_of(from + 2),
                attachments: vec![],
                track: Removal,
            },
        ),
        Command::new(secretary(), day(from + 8), CloseNotice { track: Removal }).under(policy()),
        Command::new(
            township(),
            day(from + 9),
            RecordTownshipReview {
                decision: TownshipDecision::Approve,
                opinion: "同意".into(),
                track: Removal,
            },
        ),
        Command::new(
            county(),
            day(from + 10),
            ApproveRemoval {
                opinion: "同意风险消除".into(),
            },
        )
        .under(policy()),
    ]
}

pub fn rollback(at: i64) -> Command<HouseholdCommand> {
    Command::new(
        county(),
        day(at),
        RollbackRemoval {
            reason: "回头看发现收入核算有误".into(),
        },
    )
}

pub fn link_alert(alert_id: Uuid, at: DateTime<Utc>) -> Command<HouseholdCommand> {
    Command::new(grid_worker(), at, LinkAlert { alert_id })
}

pub fn close_linked_alert(
    alert_id: Uuid,
    disposition: StudyDecision,
    at: DateTime<Utc>,
) -> Command<HouseholdCommand> {
    Command::new(
        township(),
        at,
        CloseLinkedAlert {
            alert_id,
            disposition: Some(disposition),
        },
    )
}

// ── alert commands ────────────────────────────────────────────────────────────────────────

pub fn raise_alert(
    alert_id: Uuid,
    household_id: Option<Uuid>,
    trigger: &str,
    at: DateTime<Utc>,
) -> Command<AlertCommand> {
    Command::new(
        county(),
        at,
        RaiseAlert {
            alert_id,
            source: AlertSource::DepartmentData,
            department: Some(Department::MedicalInsurance),
            trigger_code: trigger.into(),
            trigger_text: "住院自付超过2万元".into(),
            severity: Severity::High,
            household_id,
            village: code(VILLAGE),
        },
    )
    .under(policy())
}

pub fn report_duplicate(at: DateTime<Utc>) -> Command<AlertCommand> {
    Command::new(
        grid_worker(),
        at,
        ReportDuplicate {
            source: AlertSource::GridScreening,
            department: None,
            trigger_text: "网格员再次上报".into(),
        },
    )
}

pub fn first_round(risk_confirmed: bool, at: DateTime<Utc>) -> Command<AlertCommand> {
    Command::new(
        grid_worker(),
        at,
        RecordFirstRoundFeedback {
            findings: "入户核实，确有大额医疗支出".into(),
            risk_confirmed,
            visit_id: None,
            attachments: vec![],
        },
    )
}

pub fn study(decision: StudyDecision, at: DateTime<Utc>) -> Command<AlertCommand> {
    Command::new(
        township(),
        at,
        RecordSecondRoundStudy {
            decision,
            measure: None,
            reason: "镇街研判意见".into(),
            application: None,
        },
    )
}

pub fn close_alert(at: DateTime<Utc>) -> Command<AlertCommand> {
    Command::new(
        township(),
        at,
        CloseAlert {
            note: "办结".into(),
        },
    )
}

pub fn escalate(at: DateTime<Utc>) -> Command<AlertCommand> {
    Command::new(
        county(),
        at,
        EscalateAlert {
            note: "逾期督办".into(),
        },
    )
}

// ── streams driven by their deciders ──────────────────────────────────────────────────────

/// One aggregate's stream as the service runs it: decide against the state, append the events
/// at the exact version, fold them in.
pub struct Stream<D: Decider> {
    pub id: Uuid,
    pub stream_type: &'static str,
    pub state: D::State,
    pub version: i64,
}

pub type HouseholdStream = Stream<Household>;
pub type AlertStream = Stream<Alert>;

impl HouseholdStream {
    pub fn household(id: Uuid) -> Self {
        Self::new(id, "household")
    }
}

impl AlertStream {
    pub fn alert(id: Uuid) -> Self {
        Self::new(id, "alert")
    }
}

impl<D, B> Stream<D>
where
    D: Decider<Command = Command<B>>,
    D::Event: Fact + serde::Serialize,
    D::Error: Display,
    B: std::fmt::Debug,
{
    pub fn new(id: Uuid, stream_type: &'static str) -> Self {
        Self {
            id,
            stream_type,
            state: D::State::default(),
            version: 0,
        }
    }

    pub fn stream_id(&self) -> String {
        format!("{}-{}", self.stream_type, self.id)
    }

    /// Decides and appends; a refusal is a broken test script.
    pub async fn run(&mut self, store: &EventStore, cmd: D::Command) {
        let events = match D::decide(&cmd, &self.state) {
            Ok(events) => events,
            Err(e) => panic!("{} refused {cmd:?}: {e}", self.stream_id()),
        };
        let actor = &cmd.actor;
        let appended = store
            .append(AppendRequest {
                claims: Vec::new(),
                ledger: LedgerId::parse(LEDGER).unwrap(),
                stream_id: self.stream_id(),
                stream_type: self.stream_type.into(),
                expected: ExpectedVersion::Exact(self.version),
                command_id: Some(Uuid::now_v7()),
                fingerprint: None,
                actor: dixian_store::Actor {
                    user: actor.user_id.to_string(),
                    role: actor.role.code().into(),
                    jurisdiction: actor.jurisdiction.as_str().into(),
                },
                correlation_id: None,
                causation_id: None,
                events: events
                    .iter()
                    .map(|e| NewEvent::new(Uuid::now_v7(), e.event_type(), e, e.at()).unwrap())
                    .collect(),
            })
            .await
            .unwrap();
        self.version = appended.stream_version;
        for event in &events {
            self.state = D::evolve(std::mem::take(&mut self.state), event);
        }
    }

    pub async fn run_all(&mut self, store: &EventStore, cmds: Vec<D::Command>) {
        for cmd in cmds {
            self.run(store, cmd).await;
        }
    }
}

/// Registered on day 0 (head and spouse), then through identification to the county's
/// approval on day 12 for illness, with a plan and a measure on day 13.
pub async fn monitored_household(store: &EventStore, household_id: Uuid) -> HouseholdStream {
    let mut h = HouseholdStream::household(household_id);
    h.run(store, register(household_id, false)).await;
    h.run(store, add_spouse(0)).await;
    h.run(store, apply_for_monitoring(500, 1)).await;
    h.run_all(store, identification_steps(2)).await;
    h.run(
        store,
        approve_inclusion(700, Category::Marginal, &[RiskType::Illness], 12),
    )
    .await;
    h.run(store, create_plan(800, 13)).await;
    h.run(store, add_measure(801, &[RiskType::Illness], 13))
        .await;
    h
}

// ── the database side ─────────────────────────────────────────────────────────────────────

async fn store(options: PgConnectOptions) -> EventStore {
    let pool = db::service_pool(options, 10).await.unwrap();
    let store = EventStore::new(pool);
    store
        .open_ledger(&LedgerId::parse(LEDGER).unwrap())
        .await
        .unwrap();
    store
}

/// A connection that renders timestamps in UTC, as [`ts`] writes them.
async fn utc_conn(store: &EventStore) -> sqlx::pool::PoolConnection<sqlx::Postgres> {
    let mut conn = store.pool().acquire().await.unwrap();
    sqlx::query("set time zone 'UTC'")
        .execute(&mut *conn)
        .await
        .unwrap();
    conn
}

async fn runner(store: &EventStore) -> Runner {
    let runner = Runner::new(store.pool().clone(), vec![Arc::new(Casework)]);
    runner.prepare().await.unwrap();
    runner
}

const TABLES: &[&str] = &[
    "household_state",
    "alert_state",
    "household_case",
    "alert_queue",
    "focus_tag",
    "household_event_index",
    "member_lookup",
];

async fn digests(conn: &mut PgConnection, schema: &str) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for t in TABLES {
        out.push(table_digest(conn, &format!("{schema}.{t}")).await.unwrap());
    }
    out
}

/// A household's case row as JSON (column → value), for readable assertions.
async fn case_row(conn: &mut PgConnection, household_id: Uuid) -> serde_json::Value {
    sqlx::query_scalar("select to_jsonb(c) from casework.household_case c where household_id = $1")
        .bind(household_id)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

async fn alert_row(conn: &mut PgConnection, alert_id: Uuid) -> serde_json::Value {
    sqlx::query_scalar("select to_jsonb(q) from casework.alert_queue q where alert_id = $1")
        .bind(alert_id)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

async fn focus_tags(conn: &mut PgConnection, household_id: Uuid) -> Vec<(String, String)> {
    sqlx::query(
        "select focus_group, village from casework.focus_tag where household_id = $1
          order by focus_group",
    )
    .bind(household_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

/// PostgreSQL's JSON rendering of a timestamptz.
fn ts(at: DateTime<Utc>) -> serde_json::Value {
    serde_json::Value::String(at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
}

fn day_json(d: NaiveDate) -> serde_json::Value {
    serde_json::Value::String(d.to_string())
}

/// The stored state equals the driver's: the jsonb round trip loses nothing.
async fn assert_state_stored(conn: &mut PgConnection, h: &HouseholdStream) {
    let stored: Json<HouseholdState> =
        sqlx::query_scalar("select state from casework.household_state where household_id = $1")
            .bind(h.id)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(stored.0, h.state, "household_state of {}", h.id);
}

// ── tests ─────────────────────────────────────────────────────────────────────────────────

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn a_household_is_listed_through_identification_assistance_and_risk_removal(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let store = store(options).await;
    let runner = runner(&store).await;
    let mut conn = utc_conn(&store).await;
    let hid = id(9000);
    let mut h = HouseholdStream::household(hid);

    h.run(&store, register(hid, false)).await;
    h.run(&store, add_spouse(0)).await;
    h.run(&store, tag(FocusGroup::SuddenDifficulty, 0)).await;
    h.run(&store, tag(FocusGroup::ElderlyOrChild, 0)).await;
    h.run(&store, visit(40, 1)).await;
    runner.catch_up().await.unwrap();
    let row = case_row(&mut conn, hid).await;
    assert_eq!(row["ledger"], LEDGER);
    assert_eq!(row["county"], "370305");
    assert_eq!(row["township"], TOWNSHIP);
    assert_eq!(row["village"], VILLAGE);
    assert_eq!(row["grid"], format!("{VILLAGE}-2"));
    assert_eq!(row["head_name"], "成员1");
    assert_eq!(row["resident_members"], 2);
    assert_eq!(row["formerly_poor"], false);
    assert_eq!(
        row["focus_groups"],
        serde_json::json!(["ELDERLY_OR_CHILD", "SUDDEN_DIFFICULTY"])
    );
    assert_eq!(row["status"], "NOT_MONITORED");
    assert_eq!(row["episode"], 0);
    assert_eq!(row["category"], serde_json::Value::Null);
    assert_eq!(row["risk_types"], serde_json::json!([]));
    assert_eq!(row["last_visit_at"], ts(day(1)));
    assert_eq!(row["next_deadline"], serde_json::Value::Null);
    assert_eq!(row["version"], 5);
    assert_eq!(
        focus_tags(&mut conn, hid).await,
        vec![
            ("ELDERLY_OR_CHILD".into(), VILLAGE.into()),
            ("SUDDEN_DIFFICULTY".into(), VILLAGE.into())
        ]
    );

    // 识别纳入: the application opens the 15-day deadline.
    h.run(&store, apply_for_monitoring(500, 1)).await;
    h.run_all(&store, identification_steps(2)[..3].to_vec())
        .await;
    runner.catch_up().await.unwrap();
    let row = case_row(&mut conn, hid).await;
    let due = h.state.identification_due().unwrap();
    assert_eq!(due, date_of(16));
    assert_eq!(row["status"], "IDENTIFYING");
    assert_eq!(row["identification_stage"], "REVIEW_APPROVED");
    assert_eq!(row["applied_at"], ts(day(1)));
    assert_eq!(row["identification_due"], day_json(due));
    assert_eq!(row["next_deadline"], day_json(due));
    // Overdue is asked at query time, from the stored date.
    let overdue_on = |d: NaiveDate| {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from casework.household_case where next_deadline < $1",
        )
        .bind(d)
    };
    assert_eq!(
        overdue_on(date_of(16)).fetch_one(&mut *conn).await.unwrap(),
        0
    );
    assert_eq!(
        overdue_on(date_of(17)).fetch_one(&mut *conn).await.unwrap(),
        1
    );

    h.run_all(&store, identification_steps(2)[3..].to_vec())
        .await;
    h.run(
        &store,
        approve_inclusion(
            700,
            Category::Marginal,
            &[RiskType::Illness, RiskType::Disability],
            12,
        ),
    )
    .await;
    h.run(&store, create_plan(800, 13)).await;
    h.run(&store, add_measure(801, &[RiskType::Illness], 13))
        .await;
    h.run(&store, add_measure(802, &[RiskType::Disability], 13))
        .await;
    runner.catch_up().await.unwrap();
    let row = case_row(&mut conn, hid).await;
    assert_eq!(row["status"], "MONITORED");
    assert_eq!(row["status"], h.state.status.code());
    assert_eq!(row["episode"], 1);
    assert_eq!(row["category"], "MARGINAL");
    assert_eq!(
        row["risk_types"],
        serde_json::json!(["DISABILITY", "ILLNESS"])
    );
    assert_eq!(row["approved_at"], ts(day(12)));
    assert_eq!(
        row["applied_at"],
        ts(day(1)),
        "the application date outlives it"
    );
    assert_eq!(row["identification_stage"], serde_json::Value::Null);
    assert_eq!(row["identification_due"], serde_json::Value::Null);
    assert_eq!(row["next_deadline"], serde_json::Value::Null);
    assert_eq!(row["measures"], 2);

    // 风险消除.
    h.run_all(&store, eligibility_records(200)).await;
    h.run_all(&store, removal_steps(200)[..2].to_vec()).await;
    runner.catch_up().await.unwrap();
    let row = case_row(&mut conn, hid).await;
    assert_eq!(row["status"], "MONITORED");
    assert_eq!(row["removal_stage"], "VERIFIED");
    assert_eq!(row["removal_proposed_at"], ts(day(200)));
    assert_eq!(row["last_income_month"], "2024-07");
    assert_eq!(row["last_income_per_capita_fen"], 900_000);

    h.run_all(&store, removal_steps(200)[2..].to_vec()).await;
    h.run(&store, untag(FocusGroup::SuddenDifficulty, 211))
        .await;
    runner.catch_up().await.unwrap();
    let row = case_row(&mut conn, hid).await;
    assert_eq!(row["status"], "RISK_REMOVED");
    assert_eq!(row["removal_stage"], serde_json::Value::Null);
    assert_eq!(row["removed_at"], ts(day(210)));
    assert_eq!(row["episode"], 1);
    assert_eq!(
        row["category"], "MARGINAL",
        "removed, still listed as its kind"
    );
    assert_eq!(row["focus_groups"], serde_json::json!(["ELDERLY_OR_CHILD"]));
    assert_eq!(row["version"], h.version);
    assert_eq!(
        focus_tags(&mut conn, hid).await,
        vec![("ELDERLY_OR_CHILD".into(), VILLAGE.into())],
        "the untagged group leaves the ledger"
    );
    assert_state_stored(&mut conn, &h).await;
    let last_recorded: bool = sqlx::query_scalar(
        "select c.updated_at = (select max(recorded_at) from es.event where stream_id = $2)
           from casework.household_case c where household_id = $1",
    )
    .bind(hid)
    .bind(h.stream_id())
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert!(last_recorded, "updated_at is the last event's recorded_at");
    let timeline: i64 = sqlx::query_scalar(
        "select count(*) from casework.household_event_index where household_id = $1",
    )
    .bind(hid)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(timeline, h.version);

    // 回退: the same episode is monitored again.
    h.run(&store, rollback(230)).await;
    runner.catch_up().await.unwrap();
    let row = case_row(&mut conn, hid).await;
    assert_eq!(row["status"], "MONITORED");
    assert_eq!(row["episode"], 1);
    assert_eq!(row["removed_at"], serde_json::Value::Null);
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn the_green_channel_lists_its_backfill_deadline_and_a_rejection_ends_the_procedure(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let store = store(options).await;
    let runner = runner(&store).await;
    let mut conn = utc_conn(&store).await;
    let hid = id(9100);
    let mut h = HouseholdStream::household(hid);
    h.run(&store, register(hid, true)).await;
    h.run(&store, apply_for_monitoring(500, 1)).await;
    h.run(&store, open_green_channel(1)).await;
    h.run(&store, create_plan(800, 1)).await;
    h.run(&store, add_measure(801, &[RiskType::Disaster], 1))
        .await;
    runner.catch_up().await.unwrap();
    let row = case_row(&mut conn, hid).await;
    assert_eq!(row["status"], "IDENTIFYING");
    assert_eq!(row["in_green_channel"], true);
    assert_eq!(row["green_channel_due"], day_json(date_of(31)));
    assert_eq!(row["identification_due"], day_json(date_of(16)));
    assert_eq!(row["next_deadline"], day_json(date_of(16)), "the earliest");
    assert_eq!(row["measures"], 1, "assisted before approval");
    assert_eq!(row["episode"], 0);

    h.run(&store, reject_inclusion(5)).await;
    runner.catch_up().await.unwrap();
    let row = case_row(&mut conn, hid).await;
    assert_eq!(row["status"], "NOT_MONITORED");
    assert_eq!(row["identification_stage"], serde_json::Value::Null);
    assert_eq!(row["next_deadline"], serde_json::Value::Null);
    assert_eq!(row["in_green_channel"], false);
    assert_eq!(row["applied_at"], ts(day(1)));
    assert_state_stored(&mut conn, &h).await;
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn an_alert_is_queued_fed_back_studied_and_closed_and_counts_on_its_household(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let store = store(options).await;
    let runner = runner(&store).await;
    let mut conn = utc_conn(&store).await;
    let mut h = monitored_household(&store, id(9200)).await;
    let raised_at = day(20);
    let mut a = AlertStream::alert(id(1));
    a.run(
        &store,
        raise_alert(a.id, Some(h.id), "MEDICAL_OUT_OF_POCKET", raised_at),
    )
    .await;
    h.run(&store, link_alert(a.id, raised_at)).await;
    a.run(&store, report_duplicate(raised_at + TimeDelta::hours(2)))
        .await;
    runner.catch_up().await.unwrap();
    let row = alert_row(&mut conn, a.id).await;
    let raised = a.state.raised.clone().unwrap();
    assert_eq!(row["status"], "AWAITING_FIRST_ROUND");
    assert_eq!(row["township"], TOWNSHIP);
    assert_eq!(row["household_id"], h.id.to_string());
    assert_eq!(row["source"], "DEPARTMENT_DATA");
    assert_eq!(row["department"], "MEDICAL_INSURANCE");
    assert_eq!(row["trigger"], "MEDICAL_OUT_OF_POCKET");
    assert_eq!(row["severity"], "HIGH");
    assert_eq!(row["raised_at"], ts(raised_at));
    assert_eq!(row["first_round_due"], ts(raised.first_round_due));
    assert_eq!(row["second_round_due"], ts(raised.second_round_due));
    assert_eq!(row["due_at"], ts(raised.first_round_due));
    assert_eq!(row["pending_round"], "FIRST_ROUND");
    assert_eq!(row["duplicates"], 1);
    assert_eq!(row["escalation_level"], 0);
    assert_eq!(row["opens_identification"], false);
    assert_eq!(case_row(&mut conn, h.id).await["open_alerts"], 1);

    let fed_back = raised_at + TimeDelta::days(1);
    a.run(&store, first_round(true, fed_back)).await;
    let studied = raised_at + TimeDelta::days(2);
    a.run(&store, study(StudyDecision::StartIdentification, studied))
        .await;
    runner.catch_up().await.unwrap();
    let row = alert_row(&mut conn, a.id).await;
    assert_eq!(row["status"], "STUDIED");
    assert_eq!(row["first_round_at"], ts(fed_back));
    assert_eq!(row["risk_confirmed"], true);
    assert_eq!(row["first_round_late"], false);
    assert_eq!(row["second_round_at"], ts(studied));
    assert_eq!(row["disposition"], "START_IDENTIFICATION");
    assert_eq!(row["opens_identification"], true);
    assert_eq!(row["due_at"], serde_json::Value::Null, "nothing owed");

    let closed = raised_at + TimeDelta::days(3);
    a.run(&store, close_alert(closed)).await;
    h.run(
        &store,
        close_linked_alert(a.id, StudyDecision::StartIdentification, closed),
    )
    .await;
    runner.catch_up().await.unwrap();
    let row = alert_row(&mut conn, a.id).await;
    assert_eq!(row["status"], "CLOSED");
    assert_eq!(row["closed_at"], ts(closed));
    assert_eq!(row["disposition"], "START_IDENTIFICATION");
    assert_eq!(row["version"], a.version);
    assert_eq!(case_row(&mut conn, h.id).await["open_alerts"], 0);
    let timeline: Vec<String> = sqlx::query_scalar(
        "select event_type from casework.household_event_index
          where household_id = $1 and stream_id = $2 order by seq",
    )
    .bind(h.id)
    .bind(a.stream_id())
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(
        timeline,
        [
            "AlertRaised",
            "DuplicateReported",
            "FirstRoundFeedbackRecorded",
            "SecondRoundStudyRecorded",
            "AlertClosed"
        ],
        "the household's dossier shows its alert's steps"
    );
    let stored: Json<AlertState> =
        sqlx::query_scalar("select state from casework.alert_state where alert_id = $1")
            .bind(a.id)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(stored.0, a.state);
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn an_unanswered_alert_is_overdue_at_query_time_and_escalation_is_listed(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let store = store(options).await;
    let runner = runner(&store).await;
    let mut conn = utc_conn(&store).await;
    let raised_at = day(0);
    let mut a = AlertStream::alert(id(2));
    a.run(
        &store,
        raise_alert(a.id, None, "DISASTER_REPORT", raised_at),
    )
    .await;
    runner.catch_up().await.unwrap();
    let due = a.state.raised.as_ref().unwrap().first_round_due;
    let overdue = |as_of: DateTime<Utc>| {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from casework.alert_queue
              where status <> 'CLOSED' and due_at < $1 and township = $2",
        )
        .bind(as_of)
        .bind(TOWNSHIP)
    };
    assert_eq!(overdue(due).fetch_one(&mut *conn).await.unwrap(), 0);
    assert_eq!(
        overdue(due + TimeDelta::seconds(1))
            .fetch_one(&mut *conn)
            .await
            .unwrap(),
        1
    );

    a.run(&store, escalate(due + TimeDelta::hours(1))).await;
    a.run(&store, first_round(false, due + TimeDelta::hours(2)))
        .await;
    runner.catch_up().await.unwrap();
    let row = alert_row(&mut conn, a.id).await;
    assert_eq!(row["escalation_level"], 1);
    assert_eq!(row["first_round_late"], true);
    assert_eq!(row["risk_confirmed"], false);
    assert_eq!(row["status"], "AWAITING_STUDY");
    assert_eq!(row["pending_round"], "SECOND_ROUND");
    assert_eq!(row["household_id"], serde_json::Value::Null);
    assert_eq!(
        row["due_at"],
        ts(a.state.raised.as_ref().unwrap().second_round_due)
    );
}

// ── replay equals live ────────────────────────────────────────────────────────────────────

/// One scripted step of a household's story: a command to its own stream or to its alert's.
enum Step {
    Household(Command<HouseholdCommand>),
    Alert(Uuid, Command<AlertCommand>),
}

/// A random but valid story for household `n`: registration, tags, maybe an alert through its
/// loop, then one of the procedure's paths, maybe an untag.
fn script(rng: &mut StdRng, n: u128) -> (Uuid, Vec<Step>) {
    use Step::Household as H;
    let hid = id(10_000 + n);
    let mut steps = vec![H(register(hid, false)), H(add_spouse(0))];
    let groups = [
        FocusGroup::KnownDifficulty,
        FocusGroup::SuddenDifficulty,
        FocusGroup::ElderlyOrChild,
    ];
    let tagged: Vec<FocusGroup> = groups.into_iter().filter(|_| rng.gen_bool(0.5)).collect();
    steps.extend(tagged.iter().map(|g| H(tag(*g, 0))));
    if rng.gen_bool(0.5) {
        steps.push(H(visit(40, 0)));
    }
    if rng.gen_bool(0.6) {
        let alert_id = id(20_000 + n);
        let at = day(0) + TimeDelta::hours(1);
        steps.push(Step::Alert(
            alert_id,
            raise_alert(alert_id, Some(hid), "MEDICAL_OUT_OF_POCKET", at),
        ));
        steps.push(H(link_alert(alert_id, at)));
        if rng.gen_bool(0.3) {
            steps.push(Step::Alert(alert_id, report_duplicate(at)));
        }
        if rng.gen_bool(0.3) {
            steps.push(Step::Alert(alert_id, escalate(day(4))));
        }
        let decision = if rng.gen_bool(0.5) {
            StudyDecision::StartIdentification
        } else {
            StudyDecision::NoRiskDismissed
        };
        steps.push(Step::Alert(alert_id, first_round(true, day(5))));
        if rng.gen_bool(0.8) {
            steps.push(Step::Alert(alert_id, study(decision, day(6))));
            steps.push(Step::Alert(alert_id, close_alert(day(6))));
            steps.push(H(close_linked_alert(alert_id, decision, day(6))));
        } else {
            // Left open: the household cannot be removed, so it stops before any procedure.
            return (hid, steps);
        }
    }
    let path = rng.gen_range(0..8);
    if path >= 1 {
        steps.push(H(apply_for_monitoring(500, 7)));
    }
    match path {
        2 => {
            steps.push(H(open_green_channel(7)));
            steps.push(H(create_plan(800, 7)));
            steps.push(H(add_measure(801, &[RiskType::Disaster], 7)));
        }
        3 => steps.push(H(reject_inclusion(8))),
        4..=7 => {
            // Applied on day 7; the steps run days 8–17, approval on day 18.
            steps.extend(identification_steps(8).into_iter().map(H));
            steps.push(H(approve_inclusion(
                700,
                Category::Marginal,
                &[RiskType::Illness],
                18,
            )));
            steps.push(H(create_plan(800, 19)));
            steps.push(H(add_measure(801, &[RiskType::Illness], 19)));
            if path >= 5 {
                steps.extend(eligibility_records(205).into_iter().map(H));
                let removal = removal_steps(205);
                let take = if path == 5 { rng.gen_range(1..=7) } else { 7 };
                steps.extend(removal.into_iter().take(take).map(H));
            }
            if path == 6 {
                steps.push(H(rollback(230)));
            }
            if path == 7 {
                // Relapse: a new application opens the next episode's procedure.
                steps.push(H(apply_for_monitoring(501, 240)));
            }
        }
        _ => {}
    }
    if let Some(g) = tagged.first()
        && rng.gen_bool(0.5)
    {
        steps.push(H(untag(*g, 250)));
    }
    (hid, steps)
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn replaying_from_seq_zero_gives_tables_identical_to_the_live_ones(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let store = store(options).await;
    let runner = runner(&store).await;
    let mut conn = utc_conn(&store).await;
    let mut rng = StdRng::seed_from_u64(0x5eed_d1a0);

    // A stream that is not a domain case file (fixtures do this) is passed over.
    store
        .append(AppendRequest {
            claims: Vec::new(),
            ledger: LedgerId::parse(LEDGER).unwrap(),
            stream_id: "household-fixture-1".into(),
            stream_type: "household".into(),
            expected: ExpectedVersion::NoStream,
            command_id: None,
            fingerprint: None,
            actor: dixian_store::Actor::system(),
            correlation_id: None,
            causation_id: None,
            events: vec![
                NewEvent::new(Uuid::now_v7(), "Test", &serde_json::json!({"i": 1}), day(0))
                    .unwrap(),
            ],
        })
        .await
        .unwrap();

    let mut scripts: Vec<(Uuid, std::collections::VecDeque<Step>)> = (0..16)
        .map(|n| {
            let (hid, steps) = script(&mut rng, n);
            (hid, steps.into())
        })
        .collect();
    let mut households: BTreeMap<Uuid, HouseholdStream> = scripts
        .iter()
        .map(|(hid, _)| (*hid, HouseholdStream::household(*hid)))
        .collect();
    let mut alerts: BTreeMap<Uuid, AlertStream> = BTreeMap::new();
    // Interleave the stories at random, and let the live projection follow in uneven steps.
    while !scripts.is_empty() {
        let i = rng.gen_range(0..scripts.len());
        let (hid, steps) = &mut scripts[i];
        match steps.pop_front() {
            Some(Step::Household(cmd)) => households.get_mut(hid).unwrap().run(&store, cmd).await,
            Some(Step::Alert(alert_id, cmd)) => {
                alerts
                    .entry(alert_id)
                    .or_insert_with(|| AlertStream::alert(alert_id))
                    .run(&store, cmd)
                    .await
            }
            None => {
                scripts.swap_remove(i);
            }
        }
        if rng.gen_bool(0.1) {
            runner.catch_up().await.unwrap();
        }
    }
    runner.catch_up().await.unwrap();

    // Live rows say what the domain says.
    for h in households.values() {
        assert_state_stored(&mut conn, h).await;
        let row = case_row(&mut conn, h.id).await;
        assert_eq!(row["status"], h.state.status.code());
        assert_eq!(row["version"], h.version);
        assert_eq!(row["open_alerts"], h.state.open_alerts.len());
        assert_eq!(
            row["episode"],
            h.state.episodes.last().map_or(0, |e| e.number)
        );
        assert_eq!(
            row["identification_due"],
            h.state
                .identification_due()
                .map_or(serde_json::Value::Null, day_json)
        );
        let tags: Vec<String> = focus_tags(&mut conn, h.id)
            .await
            .into_iter()
            .map(|(g, _)| g)
            .collect();
        let mut expected: Vec<String> = h
            .state
            .focus_groups
            .keys()
            .map(|g| g.code().to_owned())
            .collect();
        expected.sort();
        assert_eq!(tags, expected);
    }
    for a in alerts.values() {
        let row = alert_row(&mut conn, a.id).await;
        assert_eq!(row["status"], a.state.status().unwrap().code());
        assert_eq!(
            row["disposition"],
            a.state
                .disposition()
                .map_or(serde_json::Value::Null, |d| d.code().into())
        );
    }
    let statuses: Vec<String> =
        sqlx::query_scalar("select distinct status from casework.household_case order by 1")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert!(
        statuses.len() >= 3,
        "the seed covers several paths: {statuses:?}"
    );

    let live = digests(&mut conn, "casework").await;
    assert_eq!(live[2].0, households.len() as i64);
    replay_into(store.pool(), &Casework, "casework_replay")
        .await
        .unwrap();
    assert_eq!(
        digests(&mut conn, "casework_replay").await,
        live,
        "a replay from seq 0 equals the live tables"
    );
    let report = rebuild(store.pool(), &Casework).await.unwrap();
    assert_eq!(report.positions.get(LEDGER).copied(), {
        let head: i64 = sqlx::query_scalar("select last_seq from es.ledger where ledger = $1")
            .bind(LEDGER)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        Some(head)
    });
    assert_eq!(
        digests(&mut conn, "casework").await,
        live,
        "the switched-over rebuild equals what was live"
    );
}
