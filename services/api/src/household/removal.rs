//! Mutations for risk removal (风险消除, 宽进严出): proposal → verification → democratic review
//! → notice → township review → county approval, withdrawal, and rollback (回退).
//!
//! A removal the household is not eligible for is refused with `RULE_VIOLATION` and every
//! failing reason in `extensions.reasons` (see `removalEligibility` to ask before trying).

use async_graphql::{Context, InputObject, Object};
use chrono::{DateTime, Utc};
use dixian_domain::household::HouseholdCommand as C;
use serde::Serialize;
use uuid::Uuid;

use super::inputs::attachments;
use super::procedure::{
    DemocraticReviewInput, HouseholdStepInput, ReasonInput, StartNoticeInput, TownshipReviewInput,
    VerificationInput, count,
};
use super::{HouseholdPayload, run};
use crate::vocab::parse;

/// 县级审定 — the county's approval of a removal.
#[derive(InputObject, Serialize)]
pub struct ApproveRemovalInput {
    /// Client-generated; a retry with the same id returns the first answer.
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// 审定意见.
    pub opinion: String,
    /// Business time (device clock); defaults to now.
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct RemovalMutation;

#[Object]
impl RemovalMutation {
    /// 风险消除申请 — propose risk removal, with the reason. Refused with every failing reason
    /// while the household is not eligible.
    async fn propose_removal(
        &self,
        ctx: &Context<'_>,
        input: ReasonInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        Ok(run(
            ctx,
            "proposeRemoval",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, policy| {
                Ok(C::ProposeRemoval {
                    actor,
                    at,
                    policy: policy.clone(),
                    reason: input.reason.clone(),
                })
            },
        )
        .await?)
    }

    /// 入户核实 — record the removal verification by a team of at least two people.
    async fn record_removal_verification(
        &self,
        ctx: &Context<'_>,
        input: VerificationInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let files = attachments("attachments", &input.attachments)?;
        Ok(run(
            ctx,
            "recordRemovalVerification",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, policy| {
                Ok(C::RecordRemovalVerification {
                    actor,
                    at,
                    policy: policy.clone(),
                    verifier_ids: input.verifier_ids.clone(),
                    findings: input.findings.clone(),
                    attachments: files.clone(),
                })
            },
        )
        .await?)
    }

    /// 民主评议 — record the village's democratic review of the removal.
    async fn record_removal_democratic_review(
        &self,
        ctx: &Context<'_>,
        input: DemocraticReviewInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let result = parse("result", &input.result)?;
        let attendees = count("attendees", input.attendees)?;
        let files = attachments("attachments", &input.attachments)?;
        Ok(run(
            ctx,
            "recordRemovalDemocraticReview",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::RecordRemovalDemocraticReview {
                    actor,
                    at,
                    minutes: input.minutes.clone(),
                    attendees,
                    result,
                    attachments: files.clone(),
                })
            },
        )
        .await?)
    }

    /// 公示 — start the village public notice of the removal.
    async fn start_removal_notice(
        &self,
        ctx: &Context<'_>,
        input: StartNoticeInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let files = attachments("attachments", &input.attachments)?;
        Ok(run(
            ctx,
            "startRemovalNotice",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::StartRemovalNotice {
                    actor,
                    at,
                    start: input.start,
                    attachments: files.clone(),
                })
            },
        )
        .await?)
    }

    /// 公示结束 — close the removal notice once its minimum days have passed.
    async fn close_removal_notice(
        &self,
        ctx: &Context<'_>,
        input: HouseholdStepInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        Ok(run(
            ctx,
            "closeRemovalNotice",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, policy| {
                Ok(C::CloseRemovalNotice {
                    actor,
                    at,
                    policy: policy.clone(),
                })
            },
        )
        .await?)
    }

    /// 乡镇审核 — record the township's review of the removal.
    async fn record_removal_township_review(
        &self,
        ctx: &Context<'_>,
        input: TownshipReviewInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let decision = parse("decision", &input.decision)?;
        Ok(run(
            ctx,
            "recordRemovalTownshipReview",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::RecordRemovalTownshipReview {
                    actor,
                    at,
                    decision,
                    opinion: input.opinion.clone(),
                })
            },
        )
        .await?)
    }

    /// 县级审定 — approve risk removal (the household's risk is removed, 风险消除). Eligibility
    /// is checked again here; a refusal carries every failing reason.
    async fn approve_removal(
        &self,
        ctx: &Context<'_>,
        input: ApproveRemovalInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        Ok(run(
            ctx,
            "approveRemoval",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, policy| {
                Ok(C::ApproveRemoval {
                    actor,
                    at,
                    policy: policy.clone(),
                    opinion: input.opinion.clone(),
                })
            },
        )
        .await?)
    }

    /// 终止风险消除 — withdraw a removal procedure (review rejected, objection upheld…).
    async fn withdraw_removal(
        &self,
        ctx: &Context<'_>,
        input: ReasonInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        Ok(run(
            ctx,
            "withdrawRemoval",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::WithdrawRemoval {
                    actor,
                    at,
                    reason: input.reason.clone(),
                })
            },
        )
        .await?)
    }

    /// 回退 — roll back a removal: the same episode is monitored again.
    async fn rollback_removal(
        &self,
        ctx: &Context<'_>,
        input: ReasonInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        Ok(run(
            ctx,
            "rollbackRemoval",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::RollbackRemoval {
                    actor,
                    at,
                    reason: input.reason.clone(),
                })
            },
        )
        .await?)
    }
}
