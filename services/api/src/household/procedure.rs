//! Mutations for the identification procedure (识别纳入) and the green channel (绿色通道):
//! application → home verification → data comparison → democratic review → public notice
//! (objections, re-verification) → township review → county approval, or rejection.
//!
//! The domain checks each step's order, role and jurisdiction; these resolvers only turn input
//! into commands. Commands judged by policy carry the province's book as of their business time.

use async_graphql::{Context, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use dixian_domain::household::HouseholdCommand as C;
use serde::Serialize;
use uuid::Uuid;

use super::inputs::attachments;
use super::{HouseholdPayload, run};
use crate::error::ApiError;
use crate::vocab::{parse, parse_all};

/// 申请 + 承诺授权 — a household's application for monitoring.
#[derive(InputObject, Serialize)]
pub struct ApplyForMonitoringInput {
    /// Client-generated; a retry with the same id returns the first answer.
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// Leave out to have one assigned.
    pub application_id: Option<Uuid>,
    /// 《监测对象申请及承诺授权查询书》 signed by the household: without it nothing may be queried.
    pub signed_authorisation: bool,
    /// When the clue was found (alert raised, visit…); the 15-day deadline counts from it.
    /// Defaults to the application date.
    pub clue_found_on: Option<NaiveDate>,
    /// The alert whose study led to this application, if any.
    pub source_alert: Option<Uuid>,
    /// The household's statement of its difficulty.
    #[graphql(default)]
    pub statement: String,
    /// Hex SHA-256 of the signed application and authorisation (at least one).
    pub attachments: Vec<String>,
    /// Business time (device clock); defaults to now.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// 入户核实 (identification) or 核实 (risk removal): a visit by a team of at least two people.
#[derive(InputObject, Serialize)]
pub struct VerificationInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// The user ids of the verification team (at least two distinct people).
    pub verifier_ids: Vec<Uuid>,
    pub findings: String,
    /// Hex SHA-256 of photos and documents.
    #[graphql(default)]
    pub attachments: Vec<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// 信息比对 — the county's cross-department data comparison.
#[derive(InputObject, Serialize)]
pub struct DataComparisonInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// Whether the household passed (nothing disqualifying found).
    pub passed: bool,
    /// What the comparison found (vehicle, business licence, civil servant…).
    #[graphql(default)]
    pub flags: Vec<String>,
    #[graphql(default)]
    pub notes: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// 民主评议 — the village's democratic review, with minutes.
#[derive(InputObject, Serialize)]
pub struct DemocraticReviewInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// 会议记录.
    pub minutes: String,
    /// People present.
    pub attendees: i32,
    /// REVIEW_RESULTS in `vocabulary` (e.g. AGREED).
    pub result: String,
    /// Hex SHA-256 of the minutes and sign-in sheet.
    #[graphql(default)]
    pub attachments: Vec<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// 公示 — the start of a village public notice.
#[derive(InputObject, Serialize)]
pub struct StartNoticeInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// First day of the notice (China time).
    pub start: NaiveDate,
    /// Hex SHA-256 of the posted notice (no ID, phone, bank or health details in it).
    #[graphql(default)]
    pub attachments: Vec<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// An objection raised against the open notice.
#[derive(InputObject, Serialize)]
pub struct NoticeObjectionInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// Leave out to have one assigned.
    pub objection_id: Option<Uuid>,
    pub summary: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// 异议复核 — the re-verification of one objection.
#[derive(InputObject, Serialize)]
pub struct ObjectionReverificationInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    pub objection_id: Uuid,
    pub findings: String,
    /// Whether the objection was found to be right.
    pub upheld: bool,
    #[graphql(default)]
    pub attachments: Vec<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// A step that needs nothing but the household (e.g. closing a notice).
#[derive(InputObject, Serialize)]
pub struct HouseholdStepInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// 乡镇审核 — the township's review.
#[derive(InputObject, Serialize)]
pub struct TownshipReviewInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// TOWNSHIP_DECISIONS in `vocabulary`.
    pub decision: String,
    /// 审核意见.
    pub opinion: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// 县级审定 — the county's approval of inclusion.
#[derive(InputObject, Serialize)]
pub struct ApproveInclusionInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// CATEGORIES in `vocabulary` (脱贫不稳定户 / 边缘易致贫户 / 突发严重困难户).
    pub category: String,
    /// RISK_TYPES in `vocabulary`; at least one.
    pub risk_types: Vec<String>,
    /// Per-capita net income at inclusion, in fen (分) per year.
    pub baseline_per_capita_fen: i64,
    /// 审定意见.
    pub opinion: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// A step that needs a reason (rejection, withdrawal, rollback, proposal).
#[derive(InputObject, Serialize)]
pub struct ReasonInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    pub reason: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// 绿色通道 — assistance first for a disaster or accident, the steps back-filled later.
#[derive(InputObject, Serialize)]
pub struct OpenGreenChannelInput {
    pub command_id: Uuid,
    pub household_id: Uuid,
    /// RISK_TYPES in `vocabulary` (DISASTER or ACCIDENT).
    pub risk_type: String,
    pub reason: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// A non-negative count input as the domain's `u32`.
pub(crate) fn count(field: &str, value: i32) -> Result<u32, ApiError> {
    u32::try_from(value).map_err(|_| ApiError::bad_input(field, "must not be negative"))
}

#[derive(Default)]
pub struct ProcedureMutation;

#[Object]
impl ProcedureMutation {
    /// 申请 — record a household's application for monitoring with its signed authorisation
    /// (承诺授权). Also the re-entry of a household whose risk was removed (a new episode).
    async fn apply_for_monitoring(
        &self,
        ctx: &Context<'_>,
        input: ApplyForMonitoringInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let files = attachments("attachments", &input.attachments)?;
        let application_id = input.application_id.unwrap_or_else(Uuid::now_v7);
        Ok(run(
            ctx,
            "applyForMonitoring",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, policy| {
                Ok(C::ApplyForMonitoring {
                    actor,
                    at,
                    policy: policy.clone(),
                    application_id,
                    signed_authorisation: input.signed_authorisation,
                    clue_found_on: input.clue_found_on,
                    source_alert: input.source_alert,
                    statement: input.statement.clone(),
                    attachments: files.clone(),
                })
            },
        )
        .await?)
    }

    /// 入户核实 — record the home verification by a team of at least two people.
    async fn record_home_verification(
        &self,
        ctx: &Context<'_>,
        input: VerificationInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let files = attachments("attachments", &input.attachments)?;
        Ok(run(
            ctx,
            "recordHomeVerification",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, policy| {
                Ok(C::RecordHomeVerification {
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

    /// 信息比对 — record the county's cross-department data comparison.
    async fn record_data_comparison(
        &self,
        ctx: &Context<'_>,
        input: DataComparisonInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        Ok(run(
            ctx,
            "recordDataComparison",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::RecordDataComparison {
                    actor,
                    at,
                    passed: input.passed,
                    flags: input.flags.clone(),
                    notes: input.notes.clone(),
                })
            },
        )
        .await?)
    }

    /// 民主评议 — record the village's democratic review with its minutes.
    async fn record_democratic_review(
        &self,
        ctx: &Context<'_>,
        input: DemocraticReviewInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let result = parse("result", &input.result)?;
        let attendees = count("attendees", input.attendees)?;
        let files = attachments("attachments", &input.attachments)?;
        Ok(run(
            ctx,
            "recordDemocraticReview",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::RecordDemocraticReview {
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

    /// 村内公示 — start the village public notice (at least 5 days under the national rules).
    async fn start_public_notice(
        &self,
        ctx: &Context<'_>,
        input: StartNoticeInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let files = attachments("attachments", &input.attachments)?;
        Ok(run(
            ctx,
            "startPublicNotice",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::StartPublicNotice {
                    actor,
                    at,
                    start: input.start,
                    attachments: files.clone(),
                })
            },
        )
        .await?)
    }

    /// 公示异议 — record an objection to the open notice (identification or removal).
    async fn record_notice_objection(
        &self,
        ctx: &Context<'_>,
        input: NoticeObjectionInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let objection_id = input.objection_id.unwrap_or_else(Uuid::now_v7);
        Ok(run(
            ctx,
            "recordNoticeObjection",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::RecordNoticeObjection {
                    actor,
                    at,
                    objection_id,
                    summary: input.summary.clone(),
                })
            },
        )
        .await?)
    }

    /// 异议复核 — record the re-verification of an objection; every objection is re-verified
    /// before the notice may close.
    async fn record_objection_reverification(
        &self,
        ctx: &Context<'_>,
        input: ObjectionReverificationInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let files = attachments("attachments", &input.attachments)?;
        Ok(run(
            ctx,
            "recordObjectionReverification",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::RecordObjectionReverification {
                    actor,
                    at,
                    objection_id: input.objection_id,
                    findings: input.findings.clone(),
                    upheld: input.upheld,
                    attachments: files.clone(),
                })
            },
        )
        .await?)
    }

    /// 公示结束 — close the identification notice once its minimum days have passed.
    async fn close_notice(
        &self,
        ctx: &Context<'_>,
        input: HouseholdStepInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        Ok(run(
            ctx,
            "closeNotice",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, policy| {
                Ok(C::CloseNotice {
                    actor,
                    at,
                    policy: policy.clone(),
                })
            },
        )
        .await?)
    }

    /// 乡镇审核 — record the township's review of the identification.
    async fn record_township_review(
        &self,
        ctx: &Context<'_>,
        input: TownshipReviewInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let decision = parse("decision", &input.decision)?;
        Ok(run(
            ctx,
            "recordTownshipReview",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::RecordTownshipReview {
                    actor,
                    at,
                    decision,
                    opinion: input.opinion.clone(),
                })
            },
        )
        .await?)
    }

    /// 县级审定 — approve inclusion: the household becomes a monitored household (监测对象) of a
    /// category with its risk types and baseline income, as a new episode.
    async fn approve_inclusion(
        &self,
        ctx: &Context<'_>,
        input: ApproveInclusionInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let category = parse("category", &input.category)?;
        let risk_types = parse_all("riskTypes", &input.risk_types)?;
        let episode_id = Uuid::now_v7();
        Ok(run(
            ctx,
            "approveInclusion",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::ApproveInclusion {
                    actor,
                    at,
                    episode_id,
                    category,
                    risk_types: risk_types.clone(),
                    baseline_per_capita_fen: input.baseline_per_capita_fen,
                    opinion: input.opinion.clone(),
                })
            },
        )
        .await?)
    }

    /// 不予纳入 — end the identification without inclusion, with the reason, at any stage
    /// before approval.
    async fn reject_inclusion(
        &self,
        ctx: &Context<'_>,
        input: ReasonInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        Ok(run(
            ctx,
            "rejectInclusion",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, _| {
                Ok(C::RejectInclusion {
                    actor,
                    at,
                    reason: input.reason.clone(),
                })
            },
        )
        .await?)
    }

    /// 绿色通道 (先帮扶后认定) — for a disaster or accident: assistance may start before approval;
    /// the missing steps are back-filled by the policy's deadline, or flagged overdue.
    async fn open_green_channel(
        &self,
        ctx: &Context<'_>,
        input: OpenGreenChannelInput,
    ) -> async_graphql::Result<HouseholdPayload> {
        let risk_type = parse("riskType", &input.risk_type)?;
        Ok(run(
            ctx,
            "openGreenChannel",
            input.household_id,
            None,
            input.command_id,
            &input,
            input.occurred_at,
            |_, actor, at, policy| {
                Ok(C::OpenGreenChannel {
                    actor,
                    at,
                    policy: policy.clone(),
                    risk_type,
                    reason: input.reason.clone(),
                })
            },
        )
        .await?)
    }
}
