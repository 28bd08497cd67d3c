//! 研判预警 — the alert closed loop over GraphQL: raise (with deduplication), the village's
//! first-round feedback, the township's second-round study (一户一档一研究一措施), escalation
//! (督办) and closing; the alert file and the alert queue.
//!
//! An alert is its own stream (`alert-<uuid>`) in the county ledger of its village. Some alert
//! commands have a consequence on the household's stream; the service records it right after
//! the alert command, as a second command with its own id derived from the client's (so a retry
//! of the client's command id repeats neither):
//!
//! | alert command | household follow-up |
//! |---|---|
//! | a new alert naming a household | `LinkAlert` (the household knows its open alerts; removal waits for them) |
//! | a study deciding `START_IDENTIFICATION` | `ApplyForMonitoring` with `sourceAlert` and the signed authorisation |
//! | closing an alert naming a household | `CloseLinkedAlert` with the disposition |
//!
//! The two appends are not atomic (two streams). The alert command is the record of truth and
//! is written first; if the follow-up fails, the payload's `followUp` says so (with the error
//! code) and the client's retry of the same command id completes it: the alert command answers
//! with its first result and the follow-up, being idempotent under its derived id, is applied
//! (or answers with its own first result).
//!
//! Deduplication: a raise naming a household takes a per-household advisory lock, then looks for
//! open alerts with the same trigger in the log (the household's linked alerts, folded) and in
//! the `casework.alert_queue` read model (which also sees alerts whose link failed). Under the
//! lock, two identical warnings arriving together cannot both become new alerts.

use std::collections::BTreeMap;
use std::time::Duration;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use dixian_domain::alert::{
    AlertCommand, AlertState, Dedup, OpenAlertSummary, PlannedMeasure, dedup,
};
use dixian_domain::household::HouseholdCommand;
use dixian_domain::vocab::StudyDecision;
use dixian_domain::{Actor, Decider, DomainError, ErrorKind, Role, china_date};
use dixian_store::{RecordedEvent, StreamRead};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::exec::{
    self, AlertDecider, CommandMeta, Executed, HouseholdDecider, StreamRef, county_of,
};
use crate::household::dossier::TimelineEntry;
use crate::household::inputs::attachments;
use crate::household::{Position, business_time, domain_actor, region};
use crate::schema::{ApiContext, api, caller};
use crate::vocab::{Coded, Vocab, parse};

/// Default and largest page of the alert queue.
const DEFAULT_PAGE: usize = 20;
const MAX_PAGE: usize = 100;

/// How long a raise waits for another raise about the same household.
const DEDUP_LOCK_WAIT: Duration = Duration::from_secs(5);

/// Advisory-lock class of "raising an alert about this household" (ASCII `ALRT`).
const DEDUP_LOCK_CLASS: i32 = 0x414c_5254;

/// Follow-up command ids: the client's id with its last byte flipped by a fixed mask, one mask
/// per kind, so a retry derives the same id.
const LINK_MASK: u8 = 0x5a;
const APPLY_MASK: u8 = 0xa5;
const CLOSE_MASK: u8 = 0x3c;

fn derived_command_id(client: Uuid, mask: u8) -> Uuid {
    let mut bytes = *client.as_bytes();
    bytes[15] ^= mask;
    Uuid::from_bytes(bytes)
}

fn coded<T: Vocab>(code: &str) -> Coded {
    T::ALL
        .iter()
        .find(|v| v.code() == code)
        .map_or_else(|| Coded::new(code, ""), Vocab::coded)
}

// ── views ────────────────────────────────────────────────────────────────────────────────

/// 首轮核实反馈 — the village's first-round feedback.
#[derive(SimpleObject, Clone)]
pub struct AlertFirstRound {
    pub findings: String,
    pub risk_confirmed: bool,
    pub visit_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    /// Recorded after its deadline.
    pub late: bool,
}

/// 一措施 — the measure a study decided on.
#[derive(SimpleObject, Clone)]
pub struct AlertPlannedMeasure {
    pub measure_type: Coded,
    pub description: String,
}

/// 二轮研判 — the township's study and its decision.
#[derive(SimpleObject, Clone)]
pub struct AlertStudy {
    pub decision: Coded,
    pub measure: Option<AlertPlannedMeasure>,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub late: bool,
}

/// 督办 — one escalation of an overdue round.
#[derive(SimpleObject, Clone)]
pub struct AlertEscalation {
    pub round: Coded,
    /// 1 for the first escalation of the alert, then 2…
    pub level: i32,
    pub at: DateTime<Utc>,
}

/// One alert as folded from its stream.
#[derive(SimpleObject)]
#[graphql(name = "Alert")]
pub struct AlertView {
    pub id: Uuid,
    /// The stream version this view was folded to.
    pub version: i64,
    /// 预警状态.
    pub status: Coded,
    /// 预警来源.
    pub source: Coded,
    /// 推送部门, for department data.
    pub department: Option<Coded>,
    /// The stable trigger code (the deduplication key with the household).
    pub trigger: String,
    pub trigger_text: String,
    /// 预警等级.
    pub severity: Coded,
    /// The household matched, if any.
    pub household_id: Option<Uuid>,
    /// The village's 12-digit code.
    pub village: String,
    pub raised_at: DateTime<Utc>,
    /// 村级首轮反馈 deadline.
    pub first_round_due: DateTime<Utc>,
    /// 镇街二轮研判 deadline.
    pub second_round_due: DateTime<Utc>,
    /// The deadline of the round still owed (none once studied).
    pub due_at: Option<DateTime<Utc>>,
    /// Whether the round still owed is past its deadline now.
    pub overdue: bool,
    /// The round that is overdue now, if any.
    pub overdue_round: Option<Coded>,
    /// 处置结论 — the study's decision.
    pub disposition: Option<Coded>,
    pub first_round: Option<AlertFirstRound>,
    pub study: Option<AlertStudy>,
    pub escalations: Vec<AlertEscalation>,
    /// The highest escalation level (0 when never escalated).
    pub escalation_level: i32,
    /// Times the same warning arrived again while this alert was open.
    pub duplicates: i32,
    pub closed_at: Option<DateTime<Utc>>,
    /// Every event of the alert, oldest first.
    pub timeline: Vec<TimelineEntry>,
}

impl AlertView {
    /// `None` when the stream holds no raised alert.
    fn new(
        id: Uuid,
        state: &AlertState,
        events: &[RecordedEvent],
        now: DateTime<Utc>,
    ) -> Option<Self> {
        let raised = state.raised.as_ref()?;
        let status = state.status()?;
        Some(Self {
            id,
            version: events.last().map(|e| e.stream_version).unwrap_or(0),
            status: status.coded(),
            source: raised.source.coded(),
            department: raised.department.map(|d| d.coded()),
            trigger: raised.trigger_code.clone(),
            trigger_text: raised.trigger_text.clone(),
            severity: raised.severity.coded(),
            household_id: raised.household_id,
            village: raised.village.as_str().to_owned(),
            raised_at: raised.raised_at,
            first_round_due: raised.first_round_due,
            second_round_due: raised.second_round_due,
            due_at: state.due_at(),
            overdue: state.is_overdue(now),
            overdue_round: state
                .overdue_round(now)
                .map(|r| Coded::new(r.code(), r.label_zh())),
            disposition: state.disposition().map(|d| d.coded()),
            first_round: state.first_round.as_ref().map(|f| AlertFirstRound {
                findings: f.findings.clone(),
                risk_confirmed: f.risk_confirmed,
                visit_id: f.visit_id,
                at: f.at,
                late: f.late,
            }),
            study: state.study.as_ref().map(|s| AlertStudy {
                decision: s.decision.coded(),
                measure: s.measure.as_ref().map(|m| AlertPlannedMeasure {
                    measure_type: m.measure_type.coded(),
                    description: m.description.clone(),
                }),
                reason: s.reason.clone(),
                at: s.at,
                late: s.late,
            }),
            escalations: state
                .escalations
                .iter()
                .map(|e| AlertEscalation {
                    round: Coded::new(e.round.code(), e.round.label_zh()),
                    level: i32::try_from(e.level).unwrap_or(i32::MAX),
                    at: e.at,
                })
                .collect(),
            escalation_level: state
                .escalations
                .iter()
                .map(|e| i32::try_from(e.level).unwrap_or(i32::MAX))
                .max()
                .unwrap_or(0),
            duplicates: i32::try_from(state.duplicates).unwrap_or(i32::MAX),
            closed_at: state.closed_at,
            timeline: events.iter().map(TimelineEntry::from).collect(),
        })
    }
}

/// What a household follow-up of an alert command did (see the module table).
#[derive(SimpleObject, Clone)]
pub struct AlertFollowUp {
    pub household_id: Uuid,
    /// The household mutation it corresponds to: `linkAlert`, `applyForMonitoring` or
    /// `closeLinkedAlert`.
    pub command: String,
    /// Whether it is recorded on the household (now or by an earlier attempt).
    pub done: bool,
    /// Where it was written, when done.
    pub position: Option<Position>,
    /// When not done: the error code (as in `extensions.code`); retry the same command id.
    pub error_code: Option<String>,
    /// The domain rule or input field behind the error, if any.
    pub error_detail: Option<String>,
    pub error_message: Option<String>,
}

/// The answer to every alert mutation.
#[derive(SimpleObject)]
pub struct AlertPayload {
    /// The alert after the command (for a linked duplicate: the open alert it was linked to).
    pub alert: AlertView,
    pub position: Position,
    /// True when the command id was already applied: nothing new was written.
    pub duplicate: bool,
    /// Set when a raised warning repeated an open alert (same household and trigger): it was
    /// recorded on that alert (`duplicates` + 1) instead of opening a new one.
    pub linked_to: Option<Uuid>,
    /// The household follow-up of this command, if it has one.
    pub follow_up: Option<AlertFollowUp>,
}

// ── inputs ───────────────────────────────────────────────────────────────────────────────

/// 预警 — a warning about a village, possibly matched to a household.
#[derive(InputObject, Serialize)]
pub struct RaiseAlertInput {
    /// Client-generated; a retry with the same id returns the first answer.
    pub command_id: Uuid,
    /// Leave out to use the command id.
    pub alert_id: Option<Uuid>,
    /// The village's 12-digit code.
    pub village: String,
    /// The household matched (by ID-number hash), if any; it must live in `village`.
    pub household_id: Option<Uuid>,
    /// ALERT_SOURCES in `vocabulary`.
    pub source: String,
    /// DEPARTMENTS in `vocabulary`; required exactly when `source` is DEPARTMENT_DATA.
    pub department: Option<String>,
    /// Stable trigger code (e.g. `MEDICAL_OUT_OF_POCKET`).
    pub trigger_code: String,
    /// What the source said.
    #[graphql(default)]
    pub trigger_text: String,
    /// SEVERITIES in `vocabulary`.
    pub severity: String,
    /// Business time (device clock); defaults to now.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// 首轮核实反馈 — what the village found when it checked the warning.
#[derive(InputObject, Serialize)]
pub struct FirstRoundFeedbackInput {
    pub command_id: Uuid,
    pub alert_id: Uuid,
    pub findings: String,
    /// Whether the visit confirmed the risk.
    pub risk_confirmed: bool,
    /// The verification visit recorded on the household, if any.
    pub visit_id: Option<Uuid>,
    /// Hex SHA-256 of photos and documents.
    #[graphql(default)]
    pub attachments: Vec<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// 一措施 — the measure a study decides on.
#[derive(InputObject, Serialize)]
pub struct PlannedMeasureInput {
    /// MEASURE_TYPES in `vocabulary`.
    pub measure_type: String,
    pub description: String,
}

/// The household's application that a study deciding START_IDENTIFICATION files.
#[derive(InputObject, Serialize)]
pub struct StudyApplicationInput {
    /// 《监测对象申请及承诺授权查询书》 signed by the household.
    pub signed_authorisation: bool,
    #[graphql(default)]
    pub statement: String,
    /// Hex SHA-256 of the signed application and authorisation (at least one).
    pub attachments: Vec<String>,
}

/// 二轮研判 — the township's decision and measure (一研究一措施).
#[derive(InputObject, Serialize)]
pub struct SecondRoundStudyInput {
    pub command_id: Uuid,
    pub alert_id: Uuid,
    /// STUDY_DECISIONS in `vocabulary`: START_IDENTIFICATION, ALREADY_MONITORED_ADJUST_MEASURES
    /// or NO_RISK_DISMISSED.
    pub decision: String,
    /// The measure decided on; without one, `reason` says why.
    pub measure: Option<PlannedMeasureInput>,
    /// Required for NO_RISK_DISMISSED and when no measure is given.
    #[graphql(default)]
    pub reason: String,
    /// Required when the decision is START_IDENTIFICATION and the alert names a household:
    /// the household's application is filed with it (`applyForMonitoring`, `sourceAlert` set).
    pub application: Option<StudyApplicationInput>,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// A step on an alert with a note (closing, escalating).
#[derive(InputObject, Serialize)]
pub struct AlertNoteInput {
    pub command_id: Uuid,
    pub alert_id: Uuid,
    #[graphql(default)]
    pub note: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

// ── reading ──────────────────────────────────────────────────────────────────────────────

/// The county ledger an alert lives in (from the log), or NOT_FOUND.
async fn alert_county(api: &ApiContext, id: Uuid) -> Result<String, ApiError> {
    let mut conn = api.pool.acquire().await?;
    match dixian_store::read::stream_version(&mut conn, &format!("alert-{id}")).await? {
        Some((ledger, _)) => Ok(ledger),
        None => Err(ApiError::NotFound(format!("no alert {id}"))),
    }
}

/// Whether the caller may read an alert in `village` about `household`.
async fn can_read(
    api: &ApiContext,
    caller: &Caller,
    village: &str,
    household: Option<Uuid>,
) -> Result<bool, ApiError> {
    Ok(match caller.role {
        Role::SpotChecker => match household {
            Some(h) => crate::spot_check::in_granted_sample(api, caller, h).await?,
            None => false,
        },
        _ => caller.covers(village),
    })
}

/// Folds an alert for reading; outside the caller's jurisdiction it does not exist.
async fn read_alert(api: &ApiContext, caller: &Caller, id: Uuid) -> Result<AlertView, ApiError> {
    let loaded =
        exec::load::<AlertDecider>(&api.pool, &format!("alert-{id}"), StreamRead::default())
            .await?;
    let not_found = || ApiError::NotFound(format!("no alert {id}"));
    let view =
        AlertView::new(id, &loaded.state, &loaded.events, Utc::now()).ok_or_else(not_found)?;
    if !can_read(api, caller, &view.village, view.household_id).await? {
        return Err(not_found());
    }
    Ok(view)
}

fn payload(
    view: AlertView,
    executed: &Executed,
    linked_to: Option<Uuid>,
    follow_up: Option<AlertFollowUp>,
) -> AlertPayload {
    AlertPayload {
        alert: view,
        position: Position::from(&executed.appended),
        duplicate: executed.appended.duplicate,
        linked_to,
        follow_up,
    }
}

// ── writing ──────────────────────────────────────────────────────────────────────────────

/// Runs one household follow-up under its derived command id; its failure is reported, not
/// raised, because the alert command before it is already recorded.
async fn follow_up(
    api: &ApiContext,
    caller: &Caller,
    household_id: Uuid,
    county: &str,
    command: &str,
    meta: CommandMeta,
    cmd: HouseholdCommand,
) -> AlertFollowUp {
    let result = async {
        let stream = StreamRef::household(household_id, county)?;
        exec::execute::<HouseholdDecider, _>(api, caller, &stream, &meta, |_| Ok(cmd.clone())).await
    }
    .await;
    let mut out = AlertFollowUp {
        household_id,
        command: command.to_owned(),
        done: false,
        position: None,
        error_code: None,
        error_detail: None,
        error_message: None,
    };
    match result {
        Ok(executed) => {
            out.done = true;
            out.position = Some(Position::from(&executed.appended));
        }
        Err(e) => {
            tracing::warn!(%household_id, command, code = e.code(), message = %e.message(), "alert follow-up on the household failed");
            out.error_code = Some(e.code().to_owned());
            out.error_detail = match &e {
                ApiError::Rule { rule, .. } => Some(rule.clone()),
                ApiError::BadInput { field, .. } => Some(field.clone()),
                _ => None,
            };
            out.error_message = Some(e.message());
        }
    }
    out
}

/// Serialises raises about one household across requests and server processes: a
/// transaction-scoped advisory lock, released when the transaction ends (also when the request
/// is dropped: the connection rolls back on its way back to the pool). Waiting polls without
/// holding a connection, so waiters cannot starve the pool the holder needs.
async fn lock_household(
    pool: &PgPool,
    household_id: Uuid,
) -> Result<Transaction<'static, Postgres>, ApiError> {
    let b = household_id.as_bytes();
    let key = i32::from_be_bytes([
        b[0] ^ b[4] ^ b[8] ^ b[12],
        b[1] ^ b[5] ^ b[9] ^ b[13],
        b[2] ^ b[6] ^ b[10] ^ b[14],
        b[3] ^ b[7] ^ b[11] ^ b[15],
    ]);
    let deadline = tokio::time::Instant::now() + DEDUP_LOCK_WAIT;
    loop {
        let mut tx = pool.begin().await?;
        let locked: bool = sqlx::query_scalar("select pg_try_advisory_xact_lock($1, $2)")
            .bind(DEDUP_LOCK_CLASS)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        if locked {
            return Ok(tx);
        }
        tx.rollback().await?;
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::Conflict(
                "another alert about this household is being raised; retry".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Open alerts about a household: those linked to it in the log (folded, so exact), and those
/// the alert queue knows (which includes alerts whose link to the household failed).
async fn open_alerts(
    api: &ApiContext,
    household_id: Uuid,
    linked: impl Iterator<Item = Uuid>,
) -> Result<Vec<OpenAlertSummary>, ApiError> {
    let mut found: BTreeMap<Uuid, OpenAlertSummary> = BTreeMap::new();
    for id in linked {
        let loaded =
            exec::load::<AlertDecider>(&api.pool, &format!("alert-{id}"), StreamRead::default())
                .await?;
        if let Some(summary) = loaded.state.summary() {
            found.insert(id, summary);
        }
    }
    let rows = sqlx::query(
        "select alert_id, household_id, trigger, raised_at from casework.alert_queue
          where household_id = $1 and closed_at is null",
    )
    .bind(household_id)
    .fetch_all(&api.pool)
    .await;
    let rows = match rows {
        Ok(rows) => rows,
        // The read model not built yet (undefined table or schema): the log alone decides.
        Err(e)
            if e.as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == "42P01" || c == "3F000") =>
        {
            Vec::new()
        }
        Err(e) => return Err(e.into()),
    };
    for row in rows {
        let alert_id: Uuid = row.try_get("alert_id")?;
        found.entry(alert_id).or_insert(OpenAlertSummary {
            alert_id,
            household_id: row.try_get("household_id")?,
            trigger_code: row.try_get("trigger")?,
            raised_at: row.try_get("raised_at")?,
        });
    }
    Ok(found.into_values().collect())
}

/// The household a raise names: it must exist, be visible to the caller and live in the village.
async fn check_named_household(
    api: &ApiContext,
    caller: &Caller,
    household_id: Uuid,
    village: &str,
) -> Result<(), ApiError> {
    let loaded = exec::load::<HouseholdDecider>(
        &api.pool,
        &format!("household-{household_id}"),
        StreamRead::default(),
    )
    .await?;
    let not_found = || ApiError::NotFound(format!("no household {household_id}"));
    let reg = loaded.state.registration.as_ref().ok_or_else(not_found)?;
    if !caller.covers(reg.village.as_str()) {
        return Err(not_found());
    }
    if reg.village.as_str() != village {
        return Err(ApiError::bad_input(
            "village",
            format!(
                "household {household_id} lives in village {}",
                reg.village.as_str()
            ),
        ));
    }
    Ok(())
}

#[derive(Default)]
pub struct AlertMutation;

#[Object]
impl AlertMutation {
    /// 预警 — raise an early warning (department data, grid screening, self-report, cadre
    /// visit, complaint). Deadlines come from the policy in force at `occurredAt`. A warning that
    /// repeats an open alert (same household, same trigger) is linked to it (`linkedTo`), not
    /// duplicated. A new alert naming a household is linked to the household's file.
    async fn raise_alert(
        &self,
        ctx: &Context<'_>,
        input: RaiseAlertInput,
    ) -> async_graphql::Result<AlertPayload> {
        let caller = caller(ctx)?;
        let api = api(ctx);
        let village = region("village", &input.village)?;
        let county = county_of(&village)?;
        let source = parse("source", &input.source)?;
        let department = match &input.department {
            Some(d) => Some(parse("department", d)?),
            None => None,
        };
        let severity = parse("severity", &input.severity)?;
        let at = business_time(input.occurred_at)?;
        let policy = exec::policy_book(api, village.province())
            .await?
            .state
            .clone();
        let alert_id = input.alert_id.unwrap_or(input.command_id);
        let stream = StreamRef::alert(alert_id, &county)?;
        let meta = CommandMeta::new(input.command_id, &input, "raiseAlert");
        let raise = AlertCommand::RaiseAlert {
            actor: domain_actor(caller),
            at,
            policy,
            alert_id,
            source,
            department,
            trigger_code: input.trigger_code.clone(),
            trigger_text: input.trigger_text.clone(),
            severity,
            household_id: input.household_id,
            village: village.clone(),
        };

        let Some(household_id) = input.household_id else {
            let executed =
                exec::execute::<AlertDecider, _>(
                    api,
                    caller,
                    &stream,
                    &meta,
                    |_| Ok(raise.clone()),
                )
                .await?;
            return Ok(payload(
                read_alert(api, caller, alert_id).await?,
                &executed,
                None,
                None,
            ));
        };

        check_named_household(api, caller, household_id, village.as_str()).await?;
        let lock = lock_household(&api.pool, household_id).await?;
        let result =
            raise_about_household(api, caller, &county, &stream, &meta, &raise, household_id).await;
        // Releases the lock (a failure here only delays the release to the connection's reset).
        let _ = lock.rollback().await;
        Ok(result?)
    }

    /// 首轮核实反馈 — the village's first-round feedback on an alert (findings, whether the risk
    /// is confirmed, the verification visit). Late feedback is recorded and flagged.
    async fn record_first_round_feedback(
        &self,
        ctx: &Context<'_>,
        input: FirstRoundFeedbackInput,
    ) -> async_graphql::Result<AlertPayload> {
        let files = attachments("attachments", &input.attachments)?;
        let (caller, api) = (caller(ctx)?, api(ctx));
        let at = business_time(input.occurred_at)?;
        let stream = StreamRef::alert(input.alert_id, &alert_county(api, input.alert_id).await?)?;
        let meta = CommandMeta::new(input.command_id, &input, "recordFirstRoundFeedback");
        let actor = domain_actor(caller);
        let executed = exec::execute::<AlertDecider, _>(api, caller, &stream, &meta, |_| {
            Ok(AlertCommand::RecordFirstRoundFeedback {
                actor: actor.clone(),
                at,
                findings: input.findings.clone(),
                risk_confirmed: input.risk_confirmed,
                visit_id: input.visit_id,
                attachments: files.clone(),
            })
        })
        .await?;
        Ok(payload(
            read_alert(api, caller, input.alert_id).await?,
            &executed,
            None,
            None,
        ))
    }

    /// 二轮研判 — the township's study and measure (一户一档一研究一措施): start identification,
    /// already monitored (adjust measures), or no risk (dismissed, with the reason). A study
    /// that starts identification files the household's application (`application` input,
    /// `sourceAlert` set); `followUp` reports it.
    async fn record_second_round_study(
        &self,
        ctx: &Context<'_>,
        input: SecondRoundStudyInput,
    ) -> async_graphql::Result<AlertPayload> {
        let (caller, api) = (caller(ctx)?, api(ctx));
        let decision: StudyDecision = parse("decision", &input.decision)?;
        let measure = match &input.measure {
            Some(m) => Some(PlannedMeasure {
                measure_type: parse("measure.measureType", &m.measure_type)?,
                description: m.description.clone(),
            }),
            None => None,
        };
        let application_files = match &input.application {
            Some(a) => attachments("application.attachments", &a.attachments)?,
            None => Vec::new(),
        };
        let at = business_time(input.occurred_at)?;
        let county = alert_county(api, input.alert_id).await?;
        let stream = StreamRef::alert(input.alert_id, &county)?;
        let meta = CommandMeta::new(input.command_id, &input, "recordSecondRoundStudy");
        let actor = domain_actor(caller);

        // The application the study files, built before anything is written so that a missing
        // or refused application writes nothing.
        let alert = exec::load::<AlertDecider>(&api.pool, &stream.id, StreamRead::default())
            .await?
            .state;
        let opening = match alert.raised.as_ref() {
            Some(raised) if decision == StudyDecision::StartIdentification => {
                raised.household_id.map(|h| (h, raised.raised_at))
            }
            _ => None,
        };
        let application = match opening {
            None => None,
            Some((household_id, raised_at)) => {
                let Some(app) = &input.application else {
                    return Err(ApiError::bad_input("application", "starting identification files the household's application: its signed authorisation is required").into());
                };
                let apply_id = derived_command_id(input.command_id, APPLY_MASK);
                let hh_county = crate::household::household_county(api, household_id).await?;
                let province = hh_county[..2].to_owned();
                let cmd = HouseholdCommand::ApplyForMonitoring {
                    actor: actor.clone(),
                    at,
                    policy: exec::policy_book(api, &province).await?.state.clone(),
                    application_id: apply_id,
                    signed_authorisation: app.signed_authorisation,
                    clue_found_on: Some(china_date(raised_at)),
                    source_alert: Some(input.alert_id),
                    statement: app.statement.clone(),
                    attachments: application_files.clone(),
                };
                Some((household_id, hh_county, apply_id, cmd))
            }
        };
        if let Some((household_id, _, _, cmd)) = &application
            && exec::previous_answer(api, &stream, &meta).await?.is_none()
        {
            preflight_application(api, *household_id, cmd).await?;
        }

        let executed = exec::execute::<AlertDecider, _>(api, caller, &stream, &meta, |_| {
            Ok(AlertCommand::RecordSecondRoundStudy {
                actor: actor.clone(),
                at,
                decision,
                measure: measure.clone(),
                reason: input.reason.clone(),
            })
        })
        .await?;
        let follow = match application {
            Some((household_id, hh_county, apply_id, cmd)) => {
                let meta = CommandMeta::new(
                    apply_id,
                    &input,
                    "recordSecondRoundStudy/applyForMonitoring",
                );
                Some(
                    follow_up(
                        api,
                        caller,
                        household_id,
                        &hh_county,
                        "applyForMonitoring",
                        meta,
                        cmd,
                    )
                    .await,
                )
            }
            None => None,
        };
        Ok(payload(
            read_alert(api, caller, input.alert_id).await?,
            &executed,
            None,
            follow,
        ))
    }

    /// 办结 — close a studied alert with its disposition (处置结论); the household's file stops
    /// counting it as open.
    async fn close_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertNoteInput,
    ) -> async_graphql::Result<AlertPayload> {
        let (caller, api) = (caller(ctx)?, api(ctx));
        let at = business_time(input.occurred_at)?;
        let county = alert_county(api, input.alert_id).await?;
        let stream = StreamRef::alert(input.alert_id, &county)?;
        let meta = CommandMeta::new(input.command_id, &input, "closeAlert");
        let actor = domain_actor(caller);
        let executed = exec::execute::<AlertDecider, _>(api, caller, &stream, &meta, |_| {
            Ok(AlertCommand::CloseAlert {
                actor: actor.clone(),
                at,
                note: input.note.clone(),
            })
        })
        .await?;
        let view = read_alert(api, caller, input.alert_id).await?;
        let follow = match view.household_id {
            Some(household_id) => {
                let disposition = view
                    .disposition
                    .as_ref()
                    .and_then(|d| StudyDecision::from_code(&d.code));
                let id = derived_command_id(input.command_id, CLOSE_MASK);
                let cmd = HouseholdCommand::CloseLinkedAlert {
                    actor,
                    at,
                    alert_id: input.alert_id,
                    disposition,
                };
                let meta = CommandMeta::new(id, &input, "closeAlert/closeLinkedAlert");
                // A raise names only a household of its own village, so of the same county.
                Some(
                    follow_up(
                        api,
                        caller,
                        household_id,
                        &county,
                        "closeLinkedAlert",
                        meta,
                        cmd,
                    )
                    .await,
                )
            }
            None => None,
        };
        Ok(payload(view, &executed, None, follow))
    }

    /// 督办 — escalate an alert whose owed round is past its deadline (once per round).
    async fn escalate_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertNoteInput,
    ) -> async_graphql::Result<AlertPayload> {
        let (caller, api) = (caller(ctx)?, api(ctx));
        let at = business_time(input.occurred_at)?;
        let stream = StreamRef::alert(input.alert_id, &alert_county(api, input.alert_id).await?)?;
        let meta = CommandMeta::new(input.command_id, &input, "escalateAlert");
        let actor = domain_actor(caller);
        let executed = exec::execute::<AlertDecider, _>(api, caller, &stream, &meta, |_| {
            Ok(AlertCommand::EscalateAlert {
                actor: actor.clone(),
                at,
                note: input.note.clone(),
            })
        })
        .await?;
        Ok(payload(
            read_alert(api, caller, input.alert_id).await?,
            &executed,
            None,
            None,
        ))
    }
}

/// Decides the study's application against the household as it is now, without writing: a
/// study that starts identification for a household already monitored or identifying, or with
/// an unsigned authorisation or no attachment, is refused before anything is recorded.
///
/// The application is judged on its merits, as if the village filed it (a stand-in actor that
/// is never written anywhere); who may file it is left to the follow-up itself, whose refusal
/// is reported in `followUp`.
async fn preflight_application(
    api: &ApiContext,
    household_id: Uuid,
    cmd: &HouseholdCommand,
) -> Result<(), ApiError> {
    let state = exec::load::<HouseholdDecider>(
        &api.pool,
        &format!("household-{household_id}"),
        StreamRead::default(),
    )
    .await?
    .state;
    let (HouseholdCommand::ApplyForMonitoring { actor, .. }, Some(reg)) =
        (cmd, state.registration.as_ref())
    else {
        return Ok(());
    };
    let mut judged = cmd.clone();
    if let HouseholdCommand::ApplyForMonitoring { actor: a, .. } = &mut judged {
        *a = Actor::new(actor.user_id, Role::VillageSecretary, reg.village.clone());
    }
    match HouseholdDecider::decide(&judged, &state) {
        Ok(_) => Ok(()),
        Err(e) => match e.kind() {
            ErrorKind::Forbidden => Ok(()),
            ErrorKind::Input => Err(ApiError::bad_input(
                format!(
                    "application.{}",
                    exec::camel_path(e.field().unwrap_or("input"))
                ),
                e.to_string(),
            )),
            _ => Err(exec::domain_error(&e)),
        },
    }
}

/// The rest of a raise that names a household, under its lock: a replay answers as the first
/// time; a repeat of an open alert is recorded on it; otherwise a new alert, linked to the
/// household.
#[allow(clippy::too_many_arguments)]
async fn raise_about_household(
    api: &ApiContext,
    caller: &Caller,
    county: &str,
    stream: &StreamRef,
    meta: &CommandMeta,
    raise: &AlertCommand,
    household_id: Uuid,
) -> Result<AlertPayload, ApiError> {
    let link_meta = CommandMeta::new(
        derived_command_id(meta.command_id, LINK_MASK),
        &meta.fingerprint,
        "raiseAlert/linkAlert",
    );
    let link = |alert_id: Uuid| HouseholdCommand::LinkAlert {
        actor: raise.actor().clone(),
        at: raise.at(),
        alert_id,
    };

    // A replay: where did this command id land the first time?
    if let Some((hash, appended)) = api
        .store
        .find_command(&stream.ledger, meta.command_id)
        .await?
    {
        if hash != meta.fingerprint {
            return Err(ApiError::bad_input(
                "commandId",
                "this command id was already used for a different request",
            ));
        }
        let executed = Executed { appended };
        if executed.appended.stream_id == stream.id {
            let alert_id = stream_alert_id(&stream.id)?;
            let follow = follow_up(
                api,
                caller,
                household_id,
                county,
                "linkAlert",
                link_meta.clone(),
                link(alert_id),
            )
            .await;
            return Ok(payload(
                read_alert(api, caller, alert_id).await?,
                &executed,
                None,
                Some(follow),
            ));
        }
        let linked = stream_alert_id(&executed.appended.stream_id)?;
        return Ok(payload(
            read_alert(api, caller, linked).await?,
            &executed,
            Some(linked),
            None,
        ));
    }

    // Read under the lock: every raise before this one has linked its alert by now.
    let household = exec::load::<HouseholdDecider>(
        &api.pool,
        &format!("household-{household_id}"),
        StreamRead::default(),
    )
    .await?
    .state;
    let mut open = open_alerts(api, household_id, household.open_alerts.iter().copied()).await?;
    // An alert found open may close before the duplicate lands on it (the queue can also lag
    // behind a close): then the next candidate, until none is left and a new alert is raised.
    while let Dedup::LinkTo(existing) = dedup(&open, raise) {
        let target = StreamRef::alert(existing, &alert_county(api, existing).await?)?;
        let report = raise
            .duplicate_report()
            .ok_or_else(|| ApiError::internal("a raise has a duplicate report"))?;
        match exec::execute::<AlertDecider, _>(api, caller, &target, meta, |_| Ok(report.clone()))
            .await
        {
            Ok(executed) => {
                return Ok(payload(
                    read_alert(api, caller, existing).await?,
                    &executed,
                    Some(existing),
                    None,
                ));
            }
            Err(ApiError::Rule { rule, .. }) if rule == "ALERT_CLOSED" => {
                open.retain(|a| a.alert_id != existing)
            }
            Err(e) => return Err(e),
        }
    }
    let alert_id = stream_alert_id(&stream.id)?;
    let executed =
        exec::execute::<AlertDecider, _>(api, caller, stream, meta, |_| Ok(raise.clone())).await?;
    let follow = follow_up(
        api,
        caller,
        household_id,
        county,
        "linkAlert",
        link_meta,
        link(alert_id),
    )
    .await;
    Ok(payload(
        read_alert(api, caller, alert_id).await?,
        &executed,
        None,
        Some(follow),
    ))
}

fn stream_alert_id(stream_id: &str) -> Result<Uuid, ApiError> {
    stream_id
        .strip_prefix("alert-")
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| ApiError::internal(format!("{stream_id} is not an alert stream")))
}

// ── the queue ────────────────────────────────────────────────────────────────────────────

/// One row of the alert queue (预警台账).
#[derive(SimpleObject)]
pub struct AlertQueueEntry {
    pub alert_id: Uuid,
    pub village: String,
    pub township: String,
    pub household_id: Option<Uuid>,
    pub source: Coded,
    pub department: Option<Coded>,
    pub trigger: String,
    pub severity: Coded,
    pub status: Coded,
    pub raised_at: DateTime<Utc>,
    pub first_round_due: DateTime<Utc>,
    pub second_round_due: DateTime<Utc>,
    pub first_round_at: Option<DateTime<Utc>>,
    pub second_round_at: Option<DateTime<Utc>>,
    pub escalation_level: i32,
    pub disposition: Option<Coded>,
    pub closed_at: Option<DateTime<Utc>>,
    pub duplicates: i32,
    /// The study started the household's identification.
    pub opens_identification: bool,
    /// The round still owed is past its deadline now.
    pub overdue: bool,
}

/// The owed round is past its deadline at `now()`: the first round until feedback, then the
/// second round until the study; never once studied or closed.
const OVERDUE_SQL: &str = "(closed_at is null and second_round_at is null and
    ((first_round_at is null and first_round_due < now())
     or (first_round_at is not null and second_round_due < now())))";

/// Cursor: the sort key of the last row, `<first_round_due µs>:<alert_id>`.
fn encode_cursor(due: DateTime<Utc>, id: Uuid) -> String {
    format!("{}:{id}", due.timestamp_micros())
}

fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let bad = || ApiError::bad_input("after", "not a cursor of this list");
    let (micros, id) = cursor.split_once(':').ok_or_else(bad)?;
    let due = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok((due, Uuid::parse_str(id).map_err(|_| bad())?))
}

#[derive(Default)]
pub struct AlertQuery;

#[Object]
impl AlertQuery {
    /// 预警 — one alert's file: status, deadlines, rounds, escalations, disposition and every
    /// event. Outside the caller's jurisdiction it does not exist (NOT_FOUND).
    async fn alert(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<AlertView> {
        let caller = caller(ctx)?;
        Ok(read_alert(api(ctx), caller, id).await?)
    }

    /// 预警台账 — the alert queue within the caller's jurisdiction, narrowed to `region` (a
    /// village or township code prefix), open alerts only unless `includeClosed`, ordered by
    /// the first-round deadline. At most 100 per page.
    async fn alert_queue(
        &self,
        ctx: &Context<'_>,
        region: Option<String>,
        overdue_only: Option<bool>,
        include_closed: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, AlertQueueEntry>> {
        let caller = caller(ctx)?;
        if caller.role == Role::SpotChecker {
            return Err(ApiError::Forbidden(
                "a spot checker sees only the households of its sample".into(),
            )
            .into());
        }
        let jurisdiction = caller.jurisdiction.as_str();
        let region = match region {
            Some(r) => {
                let r = r.trim().to_owned();
                if r.is_empty() || r.len() > 12 || !r.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ApiError::bad_input(
                        "region",
                        "a region code prefix is 1 to 12 digits",
                    )
                    .into());
                }
                if !r.starts_with(jurisdiction) && !jurisdiction.starts_with(&r) {
                    return Err(ApiError::Forbidden(format!(
                        "{r} is outside your jurisdiction {jurisdiction}"
                    ))
                    .into());
                }
                r
            }
            None => jurisdiction.to_owned(),
        };
        let (overdue_only, include_closed) = (
            overdue_only.unwrap_or(false),
            include_closed.unwrap_or(false),
        );
        let size = match first {
            None => DEFAULT_PAGE,
            Some(n) => usize::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_input("first", format!("a page holds 1 to {MAX_PAGE} alerts"))
                })?,
        };
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let sql = format!(
            "select alert_id, village, township, household_id, source, department, trigger, severity,
                    status, raised_at, first_round_due, second_round_due, first_round_at,
                    second_round_at, escalation_level, disposition, closed_at, duplicates,
                    opens_identification, {OVERDUE_SQL} as overdue
               from casework.alert_queue
              where village like ($1 || '%')
                and village like ($2 || '%')
                and ($3 or closed_at is null)
                and (not $4 or {OVERDUE_SQL})
                and ($5::timestamptz is null or (first_round_due, alert_id) > ($5, $6))
              order by first_round_due, alert_id
              limit $7"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(jurisdiction)
            .bind(&region)
            .bind(include_closed)
            .bind(overdue_only)
            .bind(after.map(|(due, _)| due))
            .bind(after.map(|(_, id)| id).unwrap_or_default())
            .bind(i64::try_from(size + 1).unwrap_or(i64::MAX))
            .fetch_all(&api(ctx).pool)
            .await
            .map_err(ApiError::from)?;
        let has_next = rows.len() > size;
        let mut connection = Connection::new(after.is_some(), has_next);
        for row in rows.into_iter().take(size) {
            let entry = queue_entry(&row).map_err(ApiError::from)?;
            connection.edges.push(Edge::new(
                encode_cursor(entry.first_round_due, entry.alert_id),
                entry,
            ));
        }
        Ok(connection)
    }
}

fn queue_entry(row: &sqlx::postgres::PgRow) -> Result<AlertQueueEntry, sqlx::Error> {
    use dixian_domain::alert::{AlertSource, AlertStatus, Department, Severity};
    let department: Option<String> = row.try_get("department")?;
    let disposition: Option<String> = row.try_get("disposition")?;
    Ok(AlertQueueEntry {
        alert_id: row.try_get("alert_id")?,
        village: row.try_get("village")?,
        township: row.try_get("township")?,
        household_id: row.try_get("household_id")?,
        source: coded::<AlertSource>(&row.try_get::<String, _>("source")?),
        department: department.as_deref().map(coded::<Department>),
        trigger: row.try_get("trigger")?,
        severity: coded::<Severity>(&row.try_get::<String, _>("severity")?),
        status: coded::<AlertStatus>(&row.try_get::<String, _>("status")?),
        raised_at: row.try_get("raised_at")?,
        first_round_due: row.try_get("first_round_due")?,
        second_round_due: row.try_get("second_round_due")?,
        first_round_at: row.try_get("first_round_at")?,
        second_round_at: row.try_get("second_round_at")?,
        escalation_level: row.try_get("escalation_level")?,
        disposition: disposition.as_deref().map(coded::<StudyDecision>),
        closed_at: row.try_get("closed_at")?,
        duplicates: row.try_get("duplicates")?,
        opens_identification: row.try_get("opens_identification")?,
        overdue: row.try_get("overdue")?,
    })
}
