//! 精准帮扶: one plan per episode (一户一策) and measures that target the household's risks.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::actor::Role;
use crate::command::{Ctx, Step};
use crate::error::{FieldError, InputRule};
use crate::household::error::Record;
use crate::household::state::{HouseholdState, Measure, MonitoringStatus};
use crate::vocab::{MeasureType, RiskType};

use super::super::{HouseholdError, HouseholdEvent};
use super::{Decision, HELPERS, WRITERS};

/// Assistance is for monitored households, or before approval under the green channel.
fn working_episode(ctx: &Ctx<HouseholdState>) -> Result<u32, HouseholdError> {
    let allowed = match ctx.state.status {
        MonitoringStatus::Monitored => true,
        MonitoringStatus::Identifying => ctx.state.in_green_channel(),
        MonitoringStatus::NotMonitored | MonitoringStatus::RiskRemoved => false,
    };
    ctx.state
        .working_episode_number()
        .filter(|_| allowed)
        .ok_or(HouseholdError::NotMonitored)
}

/// 一户一策 — the household's assistance plan for its episode.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAssistancePlan {
    pub plan_id: Uuid,
    pub summary: String,
    /// 帮扶责任人
    pub helper_user_id: Option<Uuid>,
}

impl Step<HouseholdState> for CreateAssistancePlan {
    const ACTION: &'static str = "create an assistance plan";
    const ROLES: &'static [Role] = HELPERS;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let CreateAssistancePlan {
            plan_id,
            summary,
            helper_user_id,
        } = self;
        let (plan_id, helper_user_id) = (*plan_id, *helper_user_id);
        let episode_number = working_episode(ctx)?;
        FieldError::require_text("summary", summary)?;
        if ctx.state.plan_for(episode_number).is_some() {
            return Err(HouseholdError::PlanAlreadyExists);
        }
        if ctx.state.plans.iter().any(|p| p.plan_id == plan_id) {
            return Err(HouseholdError::DuplicateId {
                record: Record::Plan,
                id: plan_id,
            });
        }
        Ok(HouseholdEvent::AssistancePlanCreated {
            plan_id,
            episode_number,
            summary: summary.trim().to_owned(),
            helper_user_id,
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// A measure (措施) targeting the household's risks, with type, department, amount and dates.
#[derive(Debug, Clone, PartialEq)]
pub struct AddMeasure {
    pub measure_id: Uuid,
    pub measure_type: MeasureType,
    pub department: String,
    pub description: String,
    pub amount_fen: i64,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub risk_types: Vec<RiskType>,
}

impl Step<HouseholdState> for AddMeasure {
    const ACTION: &'static str = "add a measure";
    const ROLES: &'static [Role] = HELPERS;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let new = self;
        let episode_number = working_episode(ctx)?;
        FieldError::require_text("department", &new.department)?;
        if new.amount_fen < 0 {
            return Err(FieldError::negative("amount_fen").into());
        }
        if new.end_date < new.start_date {
            return Err(FieldError::new(
                "end_date",
                InputRule::Before {
                    other: "start_date",
                },
            )
            .into());
        }
        if new.risk_types.is_empty() {
            return Err(FieldError::required("risk_types").into());
        }
        if ctx.state.plan_for(episode_number).is_none() {
            return Err(HouseholdError::PlanRequired);
        }
        if ctx.state.measures.contains_key(&new.measure_id) {
            return Err(HouseholdError::DuplicateId {
                record: Record::Measure,
                id: new.measure_id,
            });
        }
        // 缺什么补什么: a measure targets risks the county recognised; under the green channel the
        // risks are not decided yet, so any is accepted.
        let before_approval = ctx.state.status == MonitoringStatus::Identifying;
        if let Some(episode) = ctx.state.current_episode()
            && let Some(risk_type) = new
                .risk_types
                .iter()
                .find(|r| !episode.risk_types.contains(r))
        {
            return Err(HouseholdError::RiskTypeNotOfHousehold {
                risk_type: *risk_type,
            });
        }
        let mut risk_types = new.risk_types.to_vec();
        risk_types.sort();
        risk_types.dedup();
        Ok(HouseholdEvent::MeasureAdded {
            measure_id: new.measure_id,
            episode_number,
            measure_type: new.measure_type,
            department: new.department.trim().to_owned(),
            description: new.description.trim().to_owned(),
            amount_fen: new.amount_fen,
            start_date: new.start_date,
            end_date: new.end_date,
            risk_types,
            before_approval,
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

fn open_measure<'a>(
    ctx: &Ctx<'a, HouseholdState>,
    measure_id: Uuid,
) -> Result<&'a Measure, HouseholdError> {
    let measure = ctx
        .state
        .measures
        .get(&measure_id)
        .ok_or(HouseholdError::NotFound {
            record: Record::Measure,
            id: measure_id,
        })?;
    if measure.completed_on.is_some() {
        return Err(HouseholdError::MeasureAlreadyCompleted { measure_id });
    }
    Ok(measure)
}

/// Progress of an open measure, in per cent.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordMeasureProgress {
    pub measure_id: Uuid,
    pub progress: String,
    pub percent: u8,
}

impl Step<HouseholdState> for RecordMeasureProgress {
    const ACTION: &'static str = "record measure progress";
    const ROLES: &'static [Role] = WRITERS;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let (measure_id, progress, percent) =
            (self.measure_id, self.progress.as_str(), self.percent);
        open_measure(ctx, measure_id)?;
        FieldError::require_text("progress", progress)?;
        if percent > 100 {
            return Err(
                FieldError::new("percent", InputRule::OutOfRange { min: 0, max: 100 }).into(),
            );
        }
        Ok(HouseholdEvent::MeasureProgressRecorded {
            measure_id,
            progress: progress.trim().to_owned(),
            percent,
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// A measure done, with its outcome and date.
#[derive(Debug, Clone, PartialEq)]
pub struct CompleteMeasure {
    pub measure_id: Uuid,
    pub outcome: String,
    pub completed_on: NaiveDate,
}

impl Step<HouseholdState> for CompleteMeasure {
    const ACTION: &'static str = "complete a measure";
    const ROLES: &'static [Role] = WRITERS;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let (measure_id, outcome, completed_on) =
            (self.measure_id, self.outcome.as_str(), self.completed_on);
        let measure = open_measure(ctx, measure_id)?;
        FieldError::require_text("outcome", outcome)?;
        if completed_on > ctx.today {
            return Err(FieldError::in_future("completed_on").into());
        }
        if completed_on < measure.start_date {
            return Err(FieldError::new(
                "completed_on",
                InputRule::Before {
                    other: "start_date",
                },
            )
            .into());
        }
        Ok(HouseholdEvent::MeasureCompleted {
            measure_id,
            outcome: outcome.trim().to_owned(),
            completed_on,
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}
