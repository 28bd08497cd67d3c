//! 精准帮扶: one plan per episode (一户一策) and measures that target the household's risks.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::error::{FieldError, InputRule};
use crate::household::error::Record;
use crate::household::state::{Measure, MonitoringStatus};
use crate::vocab::{MeasureType, RiskType};

use super::super::{HouseholdError, HouseholdEvent};
use super::Ctx;

type Decision = Result<HouseholdEvent, HouseholdError>;

/// The fields of `AddMeasure`.
pub(super) struct NewMeasure<'a> {
    pub measure_id: Uuid,
    pub measure_type: MeasureType,
    pub department: &'a str,
    pub description: &'a str,
    pub amount_fen: i64,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub risk_types: &'a [RiskType],
}

/// Assistance is for monitored households, or before approval under the green channel.
fn working_episode(ctx: &Ctx) -> Result<u32, HouseholdError> {
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

pub(super) fn create_plan(
    ctx: &Ctx,
    plan_id: Uuid,
    summary: &str,
    helper_user_id: Option<Uuid>,
) -> Decision {
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

pub(super) fn add_measure(ctx: &Ctx, new: NewMeasure) -> Decision {
    let episode_number = working_episode(ctx)?;
    FieldError::require_text("department", new.department)?;
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

fn open_measure<'a>(ctx: &Ctx<'a>, measure_id: Uuid) -> Result<&'a Measure, HouseholdError> {
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

pub(super) fn progress(ctx: &Ctx, measure_id: Uuid, progress: &str, percent: u8) -> Decision {
    open_measure(ctx, measure_id)?;
    FieldError::require_text("progress", progress)?;
    if percent > 100 {
        return Err(FieldError::new("percent", InputRule::OutOfRange { min: 0, max: 100 }).into());
    }
    Ok(HouseholdEvent::MeasureProgressRecorded {
        measure_id,
        progress: progress.trim().to_owned(),
        percent,
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn complete(
    ctx: &Ctx,
    measure_id: Uuid,
    outcome: &str,
    completed_on: NaiveDate,
) -> Decision {
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
