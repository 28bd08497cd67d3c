//! The steps of an alert's closed loop, one struct per command with its roles and rules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::actor::Role;
use crate::attachment::AttachmentHash;
use crate::calendar::add_days_at;
use crate::command::{Ctx, Step};
use crate::error::{FieldError, InputRule};
use crate::region::RegionCode;
use crate::vocab::{MeasureType, StudyDecision};

use super::error::AlertError;
use super::event::AlertEvent;
use super::state::{AlertSource, AlertState, Department, Severity};

type Decision = Result<AlertEvent, AlertError>;

use Role::{CountyOfficer, GridWorker, TownshipOfficer, VillageSecretary};

/// Anyone who works cases may raise a warning.
const RAISERS: &[Role] = &[
    GridWorker,
    VillageSecretary,
    Role::Cadre,
    TownshipOfficer,
    CountyOfficer,
];
const VILLAGE: &[Role] = &[GridWorker, VillageSecretary];
const TOWNSHIP: &[Role] = &[TownshipOfficer, CountyOfficer];

/// 一措施 — the measure a township study decides on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedMeasure {
    pub measure_type: MeasureType,
    pub description: String,
}

/// The household's application that a study deciding "start identification" files with it
/// (the alert reactor turns it into the household's `ApplyForMonitoring`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudyApplication {
    /// 《监测对象申请及承诺授权查询书》 signed by the household.
    pub signed_authorisation: bool,
    #[serde(default)]
    pub statement: String,
    pub attachments: Vec<AttachmentHash>,
}

/// 预警 — a warning about a village, possibly matched to a household. The deadlines are those in
/// force when it is raised.
#[derive(Debug, Clone, PartialEq)]
pub struct RaiseAlert {
    pub alert_id: Uuid,
    pub source: AlertSource,
    /// Required exactly when `source` is `DEPARTMENT_DATA`.
    pub department: Option<Department>,
    /// Stable trigger code (e.g. `MEDICAL_OUT_OF_POCKET`); the deduplication key with the
    /// household.
    pub trigger_code: String,
    pub trigger_text: String,
    pub severity: Severity,
    /// The household matched (by ID-number hash), if any.
    pub household_id: Option<Uuid>,
    pub village: RegionCode,
}

impl RaiseAlert {
    /// The `ReportDuplicate` to record on the open alert [`dedup`](super::dedup()) found.
    pub fn duplicate_report(&self) -> ReportDuplicate {
        ReportDuplicate {
            source: self.source,
            department: self.department,
            trigger_text: self.trigger_text.clone(),
        }
    }
}

impl Step<AlertState> for RaiseAlert {
    const ACTION: &'static str = "raise an alert";
    const ROLES: &'static [Role] = RAISERS;
    fn decide(&self, ctx: &Ctx<AlertState>) -> Decision {
        if !self.village.is_village() {
            return Err(FieldError::new("village", InputRule::NotAVillage).into());
        }
        FieldError::require_text("trigger_code", &self.trigger_code)?;
        // A code, not a description (that is `trigger_text`); bounded because it is the
        // deduplication key the log indexes.
        if self.trigger_code.trim().chars().count() > MAX_TRIGGER_CODE_CHARS {
            return Err(FieldError::new(
                "trigger_code",
                InputRule::Invalid {
                    reason: "a trigger code has at most 64 characters",
                },
            )
            .into());
        }
        check_department(self.source, self.department)?;
        let rules = ctx.rules();
        Ok(AlertEvent::AlertRaised {
            alert_id: self.alert_id,
            source: self.source,
            department: self.department,
            trigger_code: self.trigger_code.trim().to_owned(),
            trigger_text: self.trigger_text.trim().to_owned(),
            severity: self.severity,
            household_id: self.household_id,
            village: self.village.clone(),
            first_round_due: add_days_at(ctx.at, rules.alert_first_round_days),
            second_round_due: add_days_at(ctx.at, rules.alert_second_round_days),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// Longest trigger code.
pub const MAX_TRIGGER_CODE_CHARS: usize = 64;

/// The same warning arrived again while this alert is open.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportDuplicate {
    pub source: AlertSource,
    pub department: Option<Department>,
    pub trigger_text: String,
}

impl Step<AlertState> for ReportDuplicate {
    const ACTION: &'static str = "report a duplicate alert";
    const ROLES: &'static [Role] = RAISERS;
    fn decide(&self, ctx: &Ctx<AlertState>) -> Decision {
        check_department(self.source, self.department)?;
        Ok(AlertEvent::DuplicateReported {
            source: self.source,
            department: self.department,
            trigger_text: self.trigger_text.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// 首轮核实反馈 — by the village; late feedback is recorded and flagged.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordFirstRoundFeedback {
    pub findings: String,
    pub risk_confirmed: bool,
    pub visit_id: Option<Uuid>,
    pub attachments: Vec<AttachmentHash>,
}

impl Step<AlertState> for RecordFirstRoundFeedback {
    const ACTION: &'static str = "record first-round feedback";
    const ROLES: &'static [Role] = VILLAGE;
    fn decide(&self, ctx: &Ctx<AlertState>) -> Decision {
        if ctx.state.first_round.is_some() {
            return Err(AlertError::FirstRoundAlreadyRecorded);
        }
        FieldError::require_text("findings", &self.findings)?;
        Ok(AlertEvent::FirstRoundFeedbackRecorded {
            findings: self.findings.trim().to_owned(),
            risk_confirmed: self.risk_confirmed,
            visit_id: self.visit_id,
            attachments: self.attachments.clone(),
            late: is_late(ctx.state, ctx.at),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// 二轮研判 — by the township: a decision and a measure, or the reason for none
/// (一户一档一研究一措施). A study that starts identification for a matched household files the
/// household's application with it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSecondRoundStudy {
    pub decision: StudyDecision,
    pub measure: Option<PlannedMeasure>,
    pub reason: String,
    pub application: Option<StudyApplication>,
}

impl Step<AlertState> for RecordSecondRoundStudy {
    const ACTION: &'static str = "record the second-round study";
    const ROLES: &'static [Role] = TOWNSHIP;
    fn decide(&self, ctx: &Ctx<AlertState>) -> Decision {
        let state = ctx.state;
        if state.study.is_some() {
            return Err(AlertError::StudyAlreadyRecorded);
        }
        if state.first_round.is_none() {
            return Err(out_of_order(state, "the second-round study"));
        }
        if let Some(measure) = &self.measure {
            FieldError::require_text("measure.description", &measure.description)?;
        }
        let has_reason = !self.reason.trim().is_empty();
        if self.decision == StudyDecision::NoRiskDismissed && !has_reason {
            return Err(FieldError::required("reason").into());
        }
        if self.measure.is_none() && !has_reason {
            return Err(AlertError::MeasureOrReasonRequired);
        }
        let matched = state
            .raised
            .as_ref()
            .is_some_and(|r| r.household_id.is_some());
        if self.decision == StudyDecision::AlreadyMonitoredAdjustMeasures && !matched {
            return Err(AlertError::HouseholdRequired);
        }
        let opens_identification = self.decision == StudyDecision::StartIdentification;
        // The application is what the household signed; it only means something when the
        // study starts the identification of a matched household. Without one the study still
        // stands: the village files the application itself (the API asks for it up front, so
        // that the alert reactor can file it; the demo and older clients file it separately).
        let application = self
            .application
            .clone()
            .filter(|_| opens_identification && matched);
        Ok(AlertEvent::SecondRoundStudyRecorded {
            decision: self.decision,
            measure: self.measure.clone(),
            reason: self.reason.trim().to_owned(),
            opens_identification,
            late: is_late(state, ctx.at),
            application,
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// 办结 — close a studied alert with its disposition (处置结论).
#[derive(Debug, Clone, PartialEq)]
pub struct CloseAlert {
    pub note: String,
}

impl Step<AlertState> for CloseAlert {
    const ACTION: &'static str = "close an alert";
    const ROLES: &'static [Role] = TOWNSHIP;
    fn decide(&self, ctx: &Ctx<AlertState>) -> Decision {
        let disposition = ctx
            .state
            .study
            .as_ref()
            .map(|s| s.decision)
            .ok_or_else(|| out_of_order(ctx.state, "closing"))?;
        Ok(AlertEvent::AlertClosed {
            disposition,
            note: self.note.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// 督办 — refused unless a round is past its deadline at the command's business time.
#[derive(Debug, Clone, PartialEq)]
pub struct EscalateAlert {
    pub note: String,
}

impl Step<AlertState> for EscalateAlert {
    const ACTION: &'static str = "escalate an alert";
    const ROLES: &'static [Role] = TOWNSHIP;
    fn decide(&self, ctx: &Ctx<AlertState>) -> Decision {
        let state = ctx.state;
        let (round, due) = state
            .pending()
            .filter(|(_, due)| ctx.at > *due)
            .ok_or(AlertError::NothingOverdue)?;
        if state.escalations.iter().any(|e| e.round == round) {
            return Err(AlertError::AlreadyEscalated { round });
        }
        Ok(AlertEvent::AlertEscalated {
            round,
            due_was: due,
            level: u32::try_from(state.escalations.len())
                .unwrap_or(u32::MAX)
                .saturating_add(1),
            note: self.note.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// A department is named exactly when the alert comes from department data.
fn check_department(source: AlertSource, department: Option<Department>) -> Result<(), FieldError> {
    match (source, department) {
        (AlertSource::DepartmentData, None) => Err(FieldError::required("department")),
        (AlertSource::DepartmentData, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(FieldError::new(
            "department",
            InputRule::Invalid {
                reason: "only alerts from DEPARTMENT_DATA name a department",
            },
        )),
    }
}

/// Late against the round's own deadline; the step is recorded anyway.
fn is_late(state: &AlertState, at: DateTime<Utc>) -> bool {
    state.pending().is_some_and(|(_, due)| at > due)
}

fn out_of_order(state: &AlertState, step: &'static str) -> AlertError {
    AlertError::StepOutOfOrder {
        step,
        status: state.status().map_or("NOT_RAISED", |s| s.code()),
    }
}
