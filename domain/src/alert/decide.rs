use chrono::{DateTime, Utc};

use crate::actor::{Actor, Role, authorise};
use crate::calendar::{add_days_at, china_date};
use crate::decider::Decider;
use crate::error::{FieldError, InputRule};
use crate::policy::PolicyBook;
use crate::region::RegionCode;
use crate::vocab::StudyDecision;

use super::command::{AlertCommand, PlannedMeasure};
use super::error::AlertError;
use super::event::AlertEvent;
use super::state::{AlertSource, AlertState, Department};

/// The alert decider.
pub struct Alert;

impl Decider for Alert {
    type Command = AlertCommand;
    type Event = AlertEvent;
    type State = AlertState;
    type Error = AlertError;

    fn decide(cmd: &AlertCommand, state: &AlertState) -> Result<Vec<AlertEvent>, AlertError> {
        decide(cmd, state).map(|event| vec![event])
    }

    fn evolve(state: AlertState, event: &AlertEvent) -> AlertState {
        state.evolve(event)
    }
}

use Role::{CountyOfficer, GridWorker, TownshipOfficer, VillageSecretary};

/// Which roles may issue a command.
pub fn allowed_roles(cmd: &AlertCommand) -> &'static [Role] {
    match cmd {
        AlertCommand::RaiseAlert { .. } | AlertCommand::ReportDuplicate { .. } => &[
            GridWorker,
            VillageSecretary,
            Role::Cadre,
            TownshipOfficer,
            CountyOfficer,
        ],
        AlertCommand::RecordFirstRoundFeedback { .. } => &[GridWorker, VillageSecretary],
        AlertCommand::RecordSecondRoundStudy { .. }
        | AlertCommand::CloseAlert { .. }
        | AlertCommand::EscalateAlert { .. } => &[TownshipOfficer, CountyOfficer],
    }
}

fn decide(cmd: &AlertCommand, state: &AlertState) -> Result<AlertEvent, AlertError> {
    let village = match (cmd, &state.raised) {
        (AlertCommand::RaiseAlert { .. }, Some(_)) => return Err(AlertError::AlreadyRaised),
        (AlertCommand::RaiseAlert { village, .. }, None) => village,
        (_, Some(raised)) => &raised.village,
        (_, None) => return Err(AlertError::NotRaised),
    };
    authorise(cmd.actor(), cmd.action(), allowed_roles(cmd), village)?;
    if state.closed_at.is_some() {
        return Err(AlertError::Closed);
    }
    let by = cmd.actor();
    match cmd {
        AlertCommand::RaiseAlert {
            at,
            policy,
            alert_id,
            source,
            department,
            trigger_code,
            trigger_text,
            severity,
            household_id,
            village,
            ..
        } => {
            check_raise(policy, village, *source, *department, trigger_code)?;
            let rules = policy.rules_in_force(china_date(*at));
            Ok(AlertEvent::AlertRaised {
                alert_id: *alert_id,
                source: *source,
                department: *department,
                trigger_code: trigger_code.trim().to_owned(),
                trigger_text: trigger_text.trim().to_owned(),
                severity: *severity,
                household_id: *household_id,
                village: village.clone(),
                first_round_due: add_days_at(*at, rules.alert_first_round_days),
                second_round_due: add_days_at(*at, rules.alert_second_round_days),
                by: by.clone(),
                at: *at,
            })
        }
        AlertCommand::ReportDuplicate {
            at,
            source,
            department,
            trigger_text,
            ..
        } => {
            check_department(*source, *department)?;
            Ok(AlertEvent::DuplicateReported {
                source: *source,
                department: *department,
                trigger_text: trigger_text.trim().to_owned(),
                by: by.clone(),
                at: *at,
            })
        }
        AlertCommand::RecordFirstRoundFeedback {
            at,
            findings,
            risk_confirmed,
            visit_id,
            attachments,
            ..
        } => {
            if state.first_round.is_some() {
                return Err(AlertError::FirstRoundAlreadyRecorded);
            }
            FieldError::require_text("findings", findings)?;
            Ok(AlertEvent::FirstRoundFeedbackRecorded {
                findings: findings.trim().to_owned(),
                risk_confirmed: *risk_confirmed,
                visit_id: *visit_id,
                attachments: attachments.clone(),
                late: is_late(state, *at),
                by: by.clone(),
                at: *at,
            })
        }
        AlertCommand::RecordSecondRoundStudy {
            at,
            decision,
            measure,
            reason,
            ..
        } => study(state, by, *at, *decision, measure.as_ref(), reason),
        AlertCommand::CloseAlert { at, note, .. } => {
            let disposition = state
                .study
                .as_ref()
                .map(|s| s.decision)
                .ok_or_else(|| out_of_order(state, "closing"))?;
            Ok(AlertEvent::AlertClosed {
                disposition,
                note: note.trim().to_owned(),
                by: by.clone(),
                at: *at,
            })
        }
        AlertCommand::EscalateAlert { at, note, .. } => {
            let (round, due) = state
                .pending()
                .filter(|(_, due)| *at > *due)
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
                note: note.trim().to_owned(),
                by: by.clone(),
                at: *at,
            })
        }
    }
}

fn check_raise(
    policy: &PolicyBook,
    village: &RegionCode,
    source: AlertSource,
    department: Option<Department>,
    trigger_code: &str,
) -> Result<(), AlertError> {
    if !village.is_village() {
        return Err(FieldError::new("village", InputRule::NotAVillage).into());
    }
    FieldError::require_text("trigger_code", trigger_code)?;
    check_department(source, department)?;
    if let Some(province) = &policy.province
        && province.as_str() != village.province()
    {
        return Err(AlertError::PolicyProvinceMismatch {
            policy: province.clone(),
            village: village.province().to_owned(),
        });
    }
    Ok(())
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

fn study(
    state: &AlertState,
    by: &Actor,
    at: DateTime<Utc>,
    decision: StudyDecision,
    measure: Option<&PlannedMeasure>,
    reason: &str,
) -> Result<AlertEvent, AlertError> {
    if state.study.is_some() {
        return Err(AlertError::StudyAlreadyRecorded);
    }
    if state.first_round.is_none() {
        return Err(out_of_order(state, "the second-round study"));
    }
    if let Some(measure) = measure {
        FieldError::require_text("measure.description", &measure.description)?;
    }
    let has_reason = !reason.trim().is_empty();
    if decision == StudyDecision::NoRiskDismissed && !has_reason {
        return Err(FieldError::required("reason").into());
    }
    if measure.is_none() && !has_reason {
        return Err(AlertError::MeasureOrReasonRequired);
    }
    let matched = state
        .raised
        .as_ref()
        .is_some_and(|r| r.household_id.is_some());
    if decision == StudyDecision::AlreadyMonitoredAdjustMeasures && !matched {
        return Err(AlertError::HouseholdRequired);
    }
    Ok(AlertEvent::SecondRoundStudyRecorded {
        decision,
        measure: measure.cloned(),
        reason: reason.trim().to_owned(),
        opens_identification: decision == StudyDecision::StartIdentification,
        late: is_late(state, at),
        by: by.clone(),
        at,
    })
}
