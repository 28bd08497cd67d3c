//! Mutations for assistance (精准帮扶): the plan per household (一户一策) and its measures, each
//! with type, department, amount, dates, the risk types it addresses, progress and outcome.

use async_graphql::{Context, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use dixian_domain::household::HouseholdCommand as C;
use serde::Serialize;
use uuid::Uuid;

use super::{HouseholdPayload, run};
use crate::error::ApiError;
use crate::vocab::{parse, parse_all};

/// 一户一策 — an assistance plan.
#[derive(InputObject, Serialize)]
pub struct CreateAssistancePlanInput {
    /// Client-generated; a retry with the same id returns the first answer.
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// Leave out to have one assigned.
    pub plan_id: Option<Uuid>,
    pub summary: String,
    /// 帮扶责任人 — the user responsible for helping the household.
    pub helper_user_id: Option<Uuid>,
    /// Business time (device clock); defaults to now.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// 帮扶措施 — one measure.
#[derive(InputObject, Serialize)]
pub struct AddMeasureInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// Leave out to have one assigned.
    pub measure_id: Option<Uuid>,
    /// MEASURE_TYPES in `vocabulary` (产业, 就业, 公益岗位, 小额信贷, 雨露计划, 医疗, 住房…).
    pub measure_type: String,
    /// The responsible department (责任部门), as written.
    pub department: String,
    pub description: String,
    /// Money involved, in fen (分); 0 when none.
    #[graphql(default)]
    pub amount_fen: i64,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// RISK_TYPES in `vocabulary` this measure addresses; every risk type of the episode needs
    /// at least one measure before removal.
    pub risk_types: Vec<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Progress of a measure.
#[derive(InputObject, Serialize)]
pub struct MeasureProgressInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    pub measure_id: Uuid,
    pub progress: String,
    /// 0 to 100.
    pub percent: i32,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// The completion of a measure, with its outcome.
#[derive(InputObject, Serialize)]
pub struct CompleteMeasureInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    pub measure_id: Uuid,
    /// 帮扶成效.
    pub outcome: String,
    pub completed_on: NaiveDate,
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct AssistanceMutation;

#[Object]
impl AssistanceMutation {
    /// 一户一策 — create the household's assistance plan for the current episode.
    async fn create_assistance_plan(
        &self,
        ctx: &Context<'_>,
        input: CreateAssistancePlanInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let plan_id = input.plan_id.unwrap_or_else(Uuid::now_v7);
        Ok(run(
            ctx,
            "createAssistancePlan",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::CreateAssistancePlan {
                    actor,
                    at,
                    plan_id,
                    summary: input.summary.clone(),
                    helper_user_id: input.helper_user_id,
                })
            },
        )
        .await?)
    }

    /// 帮扶措施 — add a measure (type, department, amount in fen, start/end, the risk types it
    /// addresses).
    async fn add_measure(
        &self,
        ctx: &Context<'_>,
        input: AddMeasureInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let measure_type = parse("measureType", &input.measure_type)?;
        let risk_types = parse_all("riskTypes", &input.risk_types)?;
        let measure_id = input.measure_id.unwrap_or_else(Uuid::now_v7);
        Ok(run(
            ctx,
            "addMeasure",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::AddMeasure {
                    actor,
                    at,
                    measure_id,
                    measure_type,
                    department: input.department.clone(),
                    description: input.description.clone(),
                    amount_fen: input.amount_fen,
                    start_date: input.start_date,
                    end_date: input.end_date,
                    risk_types: risk_types.clone(),
                })
            },
        )
        .await?)
    }

    /// 措施进展 — record a measure's progress (percent done).
    async fn record_measure_progress(
        &self,
        ctx: &Context<'_>,
        input: MeasureProgressInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let percent = u8::try_from(input.percent)
            .ok()
            .filter(|p| *p <= 100)
            .ok_or_else(|| ApiError::bad_input("percent", "a percentage is 0 to 100"))?;
        Ok(run(
            ctx,
            "recordMeasureProgress",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::RecordMeasureProgress {
                    actor,
                    at,
                    measure_id: input.measure_id,
                    progress: input.progress.clone(),
                    percent,
                })
            },
        )
        .await?)
    }

    /// 措施完成 — complete a measure with its outcome (帮扶成效).
    async fn complete_measure(
        &self,
        ctx: &Context<'_>,
        input: CompleteMeasureInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        Ok(run(
            ctx,
            "completeMeasure",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::CompleteMeasure {
                    actor,
                    at,
                    measure_id: input.measure_id,
                    outcome: input.outcome.clone(),
                    completed_on: input.completed_on,
                })
            },
        )
        .await?)
    }
}
