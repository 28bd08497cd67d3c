//! 研判预警 — the alert closed loop over GraphQL: raise (with deduplication), the village's
//! first-round feedback, the township's second-round study (一户一档一研究一措施), escalation
//! (督办) and closing; the alert file and the alert queue.
//!
//! An alert is its own stream (`alert-<uuid>`) in the county ledger of its village. What an
//! alert command means for the household's file — the link when a raise names it, the
//! application a study files, the close — is a reaction (`dixian_commands::alert_reactions`),
//! issued exactly once by the alert reactor after the alert command is recorded. The mutation
//! returns after its own append and waits (bounded) for the reaction, so its `followUp` says
//! whether the household's file has it.

use std::time::Duration;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use dixian_commands::alert_reactions::{self, FollowUpKind};
use dixian_commands::raise::raise_alert;
use dixian_commands::stream::county_of;
use dixian_commands::{CommandMeta, FollowUp, StreamRef};
use dixian_domain::alert::{
    Alert, AlertCommand, AlertState, CloseAlert, EscalateAlert, PlannedMeasure, RaiseAlert,
    RecordFirstRoundFeedback, RecordSecondRoundStudy, StudyApplication,
};
use dixian_domain::household::{ApplyForMonitoring, Household, HouseholdCommand};
use dixian_domain::vocab::StudyDecision as DomainStudyDecision;
use dixian_domain::{Actor, Command, Decider, DomainError, ErrorKind, RegionCode, Role, StreamId};
use dixian_projections::casework::queries::{self, AlertFilter, AlertRow};
use dixian_store::{Appended, RecordedEvent, StreamRead};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, camel_path};
use crate::household::inputs::attachments;
use crate::household::{Position, business_time, domain_actor, region};
use crate::schema::{ApiContext, api, caller};
use crate::vocab::*;

/// Default and largest page of the alert queue.
const DEFAULT_PAGE: usize = 20;
const MAX_PAGE: usize = 100;

/// How long a mutation waits for its reaction on the household's file.
const FOLLOW_UP_WAIT: Duration = Duration::from_secs(5);

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
    pub measure_type: MeasureTypeLabel,
    pub description: String,
}

/// 二轮研判 — the township's study and its decision.
#[derive(SimpleObject, Clone)]
pub struct AlertStudy {
    pub decision: StudyDecisionLabel,
    pub measure: Option<AlertPlannedMeasure>,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub late: bool,
}

/// 督办 — one escalation of an overdue round.
#[derive(SimpleObject, Clone)]
pub struct AlertEscalation {
    pub round: AlertRoundLabel,
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
    pub status: AlertStatusLabel,
    /// 预警来源.
    pub source: AlertSourceLabel,
    /// 推送部门, for department data.
    pub department: Option<DepartmentLabel>,
    /// The stable trigger code (the deduplication key with the household).
    pub trigger: String,
    pub trigger_text: String,
    /// 预警等级.
    pub severity: SeverityLabel,
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
    pub overdue_round: Option<AlertRoundLabel>,
    /// 处置结论 — the study's decision.
    pub disposition: Option<StudyDecisionLabel>,
    pub first_round: Option<AlertFirstRound>,
    pub study: Option<AlertStudy>,
    pub escalations: Vec<AlertEscalation>,
    /// The highest escalation level (0 when never escalated).
    pub escalation_level: i32,
    /// Times the same warning arrived again while this alert was open.
    pub duplicates: i32,
    pub closed_at: Option<DateTime<Utc>>,
    /// Every event of the alert, oldest first.
    pub timeline: Vec<crate::household::dossier::TimelineEntry>,
}

fn to_i32(n: impl TryInto<i32>) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
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
            status: status.label(),
            source: raised.source.label(),
            department: raised.department.map(|d| d.label()),
            trigger: raised.trigger_code.clone(),
            trigger_text: raised.trigger_text.clone(),
            severity: raised.severity.label(),
            household_id: raised.household_id,
            village: raised.village.as_str().to_owned(),
            raised_at: raised.raised_at,
            first_round_due: raised.first_round_due,
            second_round_due: raised.second_round_due,
            due_at: state.due_at(),
            overdue: state.is_overdue(now),
            overdue_round: state.overdue_round(now).map(|r| r.label()),
            disposition: state.disposition().map(|d| d.label()),
            first_round: state.first_round.as_ref().map(|f| AlertFirstRound {
                findings: f.findings.clone(),
                risk_confirmed: f.risk_confirmed,
                visit_id: f.visit_id,
                at: f.at,
                late: f.late,
            }),
            study: state.study.as_ref().map(|s| AlertStudy {
                decision: s.decision.label(),
                measure: s.measure.as_ref().map(|m| AlertPlannedMeasure {
                    measure_type: m.measure_type.label(),
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
                    round: e.round.label(),
                    level: to_i32(e.level),
                    at: e.at,
                })
                .collect(),
            escalation_level: state
                .escalations
                .iter()
                .map(|e| to_i32(e.level))
                .max()
                .unwrap_or(0),
            duplicates: to_i32(state.duplicates),
            closed_at: state.closed_at,
            timeline: events.iter().map(Into::into).collect(),
        })
    }
}

/// What the household's file made of an alert command (the reaction; see the module docs).
#[derive(SimpleObject, Clone)]
pub struct AlertFollowUp {
    pub household_id: Uuid,
    /// The household step it is: `linkAlert`, `applyForMonitoring` or `closeLinkedAlert`.
    pub command: String,
    /// Whether the household's file has it.
    pub done: bool,
    /// True while the reaction has not happened yet (it will: ask the household again).
    pub pending: bool,
    /// Where it was written, when done.
    pub position: Option<Position>,
    /// When refused: the error code (as in `extensions.code`); the reaction is retried and
    /// listed in `stuckReactions` until it goes through.
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
    /// The household follow-up of this command, if it has one. Waited for (at most 5 s) only
    /// when selected: a caller that does not need it (a department's import) is answered as
    /// soon as the alert's own command has landed.
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
    pub source: AlertSource,
    /// Required exactly when `source` is DEPARTMENT_DATA.
    pub department: Option<Department>,
    /// Stable trigger code (e.g. `MEDICAL_OUT_OF_POCKET`).
    pub trigger_code: String,
    /// What the source said.
    #[graphql(default)]
    pub trigger_text: String,
    pub severity: Severity,
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
    pub measure_type: MeasureType,
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
    /// START_IDENTIFICATION, ALREADY_MONITORED_ADJUST_MEASURES or NO_RISK_DISMISSED.
    pub decision: StudyDecision,
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
    let loaded = api
        .exec
        .load::<Alert>(&StreamId::Alert(id), StreamRead::default())
        .await?;
    let not_found = || ApiError::NotFound(format!("no alert {id}"));
    let view =
        AlertView::new(id, &loaded.state, &loaded.events, Utc::now()).ok_or_else(not_found)?;
    if !can_read(api, caller, &view.village, view.household_id).await? {
        return Err(not_found());
    }
    Ok(view)
}

// ── writing ──────────────────────────────────────────────────────────────────────────────

/// The alert's stream as it lives in the log.
async fn alert_stream(api: &ApiContext, id: Uuid) -> Result<StreamRef, ApiError> {
    Ok(api
        .exec
        .existing(StreamId::Alert(id), &format!("alert {id}"))
        .await?)
}

/// Whether the caller selected `followUp` (only then is the reaction waited for).
fn wants_follow_up(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("followUp").exists()
}

/// Runs one command on an existing alert.
async fn run_alert(
    api: &ApiContext,
    caller: &Caller,
    stream: &StreamRef,
    meta: &CommandMeta,
    at: DateTime<Utc>,
    body: impl Into<AlertCommand>,
) -> Result<Appended, ApiError> {
    let policy = api.folds.policy(&stream.province()).await?.state.clone();
    let command = Command::new(domain_actor(caller), at, body).under(policy);
    Ok(api
        .exec
        .execute::<Alert, _>(stream, meta, |_| Ok(command.clone()))
        .await?)
}

/// One step on an existing alert, answered with the alert after it: the business time, the
/// idempotency of `mutation` with `input`, and — for a step the household's file reacts to
/// ([`FollowUpKind::after`]) — the follow-up on the alert's household, when selected.
async fn alert_step<I: serde::Serialize>(
    ctx: &Context<'_>,
    mutation: &str,
    input: &I,
    (command_id, alert_id, occurred_at): (Uuid, Uuid, Option<DateTime<Utc>>),
    body: impl Into<AlertCommand>,
) -> Result<AlertPayload, ApiError> {
    let body: AlertCommand = body.into();
    let kind = FollowUpKind::after(&body);
    let (caller, api) = (caller(ctx)?, api(ctx));
    let at = business_time(occurred_at)?;
    let stream = alert_stream(api, alert_id).await?;
    let meta = CommandMeta::new(command_id, input, mutation);
    let appended = run_alert(api, caller, &stream, &meta, at, body).await?;
    let view = read_alert(api, caller, alert_id).await?;
    let follow = match (kind, view.household_id) {
        (Some(kind), Some(household_id)) if wants_follow_up(ctx) => {
            Some(follow_up(api, household_id, kind, &appended).await?)
        }
        _ => None,
    };
    Ok(payload(view, &appended, None, follow))
}

/// Waits (bounded) for the alert reactor's follow-up `kind` to the event `appended` recorded.
async fn follow_up(
    api: &ApiContext,
    household_id: Uuid,
    kind: FollowUpKind,
    appended: &Appended,
) -> Result<AlertFollowUp, ApiError> {
    let mut out = AlertFollowUp {
        household_id,
        command: kind.command().to_owned(),
        done: false,
        pending: false,
        position: None,
        error_code: None,
        error_detail: None,
        error_message: None,
    };
    let outcome = api
        .reactors
        .follow_up(
            alert_reactions::NAME,
            kind.reaction(),
            &appended.ledger,
            appended.last_seq,
            FOLLOW_UP_WAIT,
        )
        .await?;
    match outcome {
        FollowUp::Done(landed) => {
            out.done = landed.is_some();
            out.position = landed.as_ref().map(Position::from);
        }
        FollowUp::Pending => out.pending = true,
        FollowUp::Refused(stuck) => {
            out.error_code = Some(stuck.error_code);
            out.error_detail = stuck.error_detail.map(|d| camel_path(&d));
            out.error_message = Some(stuck.error_message);
        }
    }
    Ok(out)
}

fn payload(
    alert: AlertView,
    appended: &Appended,
    linked_to: Option<Uuid>,
    follow_up: Option<AlertFollowUp>,
) -> AlertPayload {
    AlertPayload {
        alert,
        position: Position::from(appended),
        duplicate: appended.duplicate,
        linked_to,
        follow_up,
    }
}

/// The household a raise names: it must exist, be visible to the caller and live in the village.
/// Checks that the household a warning names exists, is the caller's and lives in the
/// warning's village; returns the policy book of its province (read with it).
async fn check_named_household(
    api: &ApiContext,
    caller: &Caller,
    household_id: Uuid,
    village: &RegionCode,
) -> Result<crate::fold_cache::PolicyFold, ApiError> {
    let not_found = || ApiError::NotFound(format!("no household {household_id}"));
    let (household, book) = api
        .folds
        .household_now(household_id, village.province())
        .await?
        .ok_or_else(not_found)?;
    let reg = household
        .state
        .registration
        .as_ref()
        .ok_or_else(not_found)?;
    if !caller.covers(reg.village.as_str()) {
        return Err(not_found());
    }
    if reg.village != *village {
        return Err(ApiError::bad_input(
            "village",
            format!(
                "household {household_id} lives in village {}",
                reg.village.as_str()
            ),
        ));
    }
    Ok(book)
}

/// Decides the study's application against the household as it is now, without writing: a
/// study that starts identification for a household already monitored or identifying, or with
/// an unsigned authorisation or no attachment, is refused before anything is recorded.
///
/// The application is judged on its merits, as if the village filed it (a stand-in actor that
/// is never written anywhere); who may file it is left to the reaction itself, whose refusal is
/// reported in `followUp`.
async fn preflight_application(
    api: &ApiContext,
    household_id: Uuid,
    at: DateTime<Utc>,
    application: &StudyApplication,
) -> Result<(), ApiError> {
    let state = api
        .exec
        .load::<Household>(&StreamId::Household(household_id), StreamRead::default())
        .await?
        .state;
    let Some(reg) = state.registration.as_ref() else {
        return Ok(());
    };
    let stand_in = Actor::new(Uuid::nil(), Role::VillageSecretary, reg.village.clone());
    let judged = Command::new(
        stand_in,
        at,
        ApplyForMonitoring {
            application_id: Uuid::nil(),
            signed_authorisation: application.signed_authorisation,
            clue_found_on: None,
            source_alert: None,
            statement: application.statement.clone(),
            attachments: application.attachments.clone(),
        },
    );
    let judged: Command<HouseholdCommand> = judged;
    match Household::decide(&judged, &state) {
        Ok(_) => Ok(()),
        Err(e) => match e.kind() {
            ErrorKind::Forbidden => Ok(()),
            ErrorKind::Input => Err(ApiError::bad_input(
                format!("application.{}", camel_path(e.field().unwrap_or("input"))),
                e.to_string(),
            )),
            _ => Err(dixian_commands::CommandError::refused(&e, e.reasons()).into()),
        },
    }
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
        let (caller, api) = (caller(ctx)?, api(ctx));
        let village = region("village", &input.village)?;
        let county = county_of(&village).map_err(ApiError::from)?;
        let at = business_time(input.occurred_at)?;
        // The named household's file and the policy book come in one round trip.
        let policy = match input.household_id {
            Some(household_id) => {
                check_named_household(api, caller, household_id, &village).await?
            }
            None => api.folds.policy(village.province()).await?,
        }
        .state
        .clone();
        let alert_id = input.alert_id.unwrap_or(input.command_id);
        let stream =
            StreamRef::in_county(StreamId::Alert(alert_id), &county).map_err(ApiError::from)?;
        let meta = CommandMeta::new(input.command_id, &input, "raiseAlert");
        let raise = Command::new(
            domain_actor(caller),
            at,
            RaiseAlert {
                alert_id,
                source: input.source.into(),
                department: input.department.map(Into::into),
                trigger_code: input.trigger_code.clone(),
                trigger_text: input.trigger_text.clone(),
                severity: input.severity.into(),
                household_id: input.household_id,
                village: village.clone(),
            },
        )
        .under(policy);
        let raised = raise_alert(&api.exec, &stream, &meta, &raise)
            .await
            .map_err(ApiError::from)?;
        let follow = match (input.household_id, raised.linked_to) {
            (Some(household_id), None) if wants_follow_up(ctx) => {
                Some(follow_up(api, household_id, FollowUpKind::Link, &raised.appended).await?)
            }
            _ => None,
        };
        Ok(payload(
            read_alert(api, caller, raised.alert_id).await?,
            &raised.appended,
            raised.linked_to,
            follow,
        ))
    }

    /// 首轮核实反馈 — the village's first-round feedback on an alert (findings, whether the risk
    /// is confirmed, the verification visit). Late feedback is recorded and flagged.
    async fn record_first_round_feedback(
        &self,
        ctx: &Context<'_>,
        input: FirstRoundFeedbackInput,
    ) -> async_graphql::Result<AlertPayload> {
        let body = RecordFirstRoundFeedback {
            findings: input.findings.clone(),
            risk_confirmed: input.risk_confirmed,
            visit_id: input.visit_id,
            attachments: attachments("attachments", &input.attachments)?,
        };
        let ids = (input.command_id, input.alert_id, input.occurred_at);
        Ok(alert_step(ctx, "recordFirstRoundFeedback", &input, ids, body).await?)
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
        let decision: DomainStudyDecision = input.decision.into();
        let measure = input.measure.as_ref().map(|m| PlannedMeasure {
            measure_type: m.measure_type.into(),
            description: m.description.clone(),
        });
        let application = match &input.application {
            Some(a) => Some(StudyApplication {
                signed_authorisation: a.signed_authorisation,
                statement: a.statement.clone(),
                attachments: attachments("application.attachments", &a.attachments)?,
            }),
            None => None,
        };
        let at = business_time(input.occurred_at)?;
        let stream = alert_stream(api, input.alert_id).await?;
        let meta = CommandMeta::new(input.command_id, &input, "recordSecondRoundStudy");
        let alert = api
            .exec
            .load::<Alert>(&stream.id, StreamRead::default())
            .await
            .map_err(ApiError::from)?
            .state;
        // The household whose identification the study starts, if it names one.
        let opening = alert
            .raised
            .as_ref()
            .and_then(|r| r.household_id)
            .filter(|_| decision == DomainStudyDecision::StartIdentification);
        if let Some(household_id) = opening
            && api
                .exec
                .previous_answer(&stream, &meta)
                .await
                .map_err(ApiError::from)?
                .is_none()
        {
            let Some(application) = &application else {
                return Err(ApiError::bad_input("application", "starting identification files the household's application: its signed authorisation is required").into());
            };
            preflight_application(api, household_id, at, application).await?;
        }
        let body = RecordSecondRoundStudy {
            decision,
            measure,
            reason: input.reason.clone(),
            application,
        };
        let appended = run_alert(api, caller, &stream, &meta, at, body).await?;
        let follow = match opening {
            Some(household_id) if wants_follow_up(ctx) => {
                Some(follow_up(api, household_id, FollowUpKind::Apply, &appended).await?)
            }
            _ => None,
        };
        let view = read_alert(api, caller, input.alert_id).await?;
        Ok(payload(view, &appended, None, follow))
    }

    /// 办结 — close a studied alert with its disposition (处置结论); the household's file stops
    /// counting it as open.
    async fn close_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertNoteInput,
    ) -> async_graphql::Result<AlertPayload> {
        let body = CloseAlert {
            note: input.note.clone(),
        };
        let ids = (input.command_id, input.alert_id, input.occurred_at);
        Ok(alert_step(ctx, "closeAlert", &input, ids, body).await?)
    }

    /// 督办 — escalate an alert whose owed round is past its deadline (once per round).
    async fn escalate_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertNoteInput,
    ) -> async_graphql::Result<AlertPayload> {
        let body = EscalateAlert {
            note: input.note.clone(),
        };
        let ids = (input.command_id, input.alert_id, input.occurred_at);
        Ok(alert_step(ctx, "escalateAlert", &input, ids, body).await?)
    }
}

// ── the queue ────────────────────────────────────────────────────────────────────────────

/// One row of the alert queue (预警台账).
#[derive(SimpleObject)]
pub struct AlertQueueEntry {
    pub alert_id: Uuid,
    pub village: String,
    pub township: String,
    pub household_id: Option<Uuid>,
    pub source: AlertSourceLabel,
    pub department: Option<DepartmentLabel>,
    pub trigger: String,
    pub severity: SeverityLabel,
    pub status: AlertStatusLabel,
    pub raised_at: DateTime<Utc>,
    pub first_round_due: DateTime<Utc>,
    pub second_round_due: DateTime<Utc>,
    pub first_round_at: Option<DateTime<Utc>>,
    pub second_round_at: Option<DateTime<Utc>>,
    pub escalation_level: i32,
    pub disposition: Option<StudyDecisionLabel>,
    pub closed_at: Option<DateTime<Utc>>,
    pub duplicates: i32,
    /// The study started the household's identification.
    pub opens_identification: bool,
    /// The round still owed is past its deadline now.
    pub overdue: bool,
}

impl AlertQueueEntry {
    fn from_row(r: AlertRow) -> Result<Self, ApiError> {
        use dixian_domain::alert as a;
        Ok(Self {
            source: stored::<a::AlertSource>(&r.source)?,
            department: r
                .department
                .as_deref()
                .map(stored::<a::Department>)
                .transpose()?,
            severity: stored::<a::Severity>(&r.severity)?,
            status: stored::<a::AlertStatus>(&r.status)?,
            disposition: r
                .disposition
                .as_deref()
                .map(stored::<DomainStudyDecision>)
                .transpose()?,
            alert_id: r.alert_id,
            village: r.village,
            township: r.township,
            household_id: r.household_id,
            trigger: r.trigger,
            raised_at: r.raised_at,
            first_round_due: r.first_round_due,
            second_round_due: r.second_round_due,
            first_round_at: r.first_round_at,
            second_round_at: r.second_round_at,
            escalation_level: r.escalation_level,
            closed_at: r.closed_at,
            duplicates: r.duplicates,
            opens_identification: r.opens_identification,
            overdue: r.overdue,
        })
    }
}

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
        let rows = queries::alert_queue(
            &api(ctx).pool,
            &AlertFilter {
                jurisdiction,
                region: &region,
                include_closed: include_closed.unwrap_or(false),
                overdue_only: overdue_only.unwrap_or(false),
                now: Utc::now(),
                after,
                limit: i64::try_from(size + 1).unwrap_or(i64::MAX),
            },
        )
        .await
        .map_err(ApiError::from)?;
        let has_next = rows.len() > size;
        let mut connection = Connection::new(after.is_some(), has_next);
        for row in rows.into_iter().take(size) {
            let entry = AlertQueueEntry::from_row(row)?;
            connection.edges.push(Edge::new(
                encode_cursor(entry.first_round_due, entry.alert_id),
                entry,
            ));
        }
        Ok(connection)
    }
}
