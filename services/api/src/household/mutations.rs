//! Every household mutation, declared once: its name and documentation, its input, the domain
//! step it becomes, and (for record commands) its place in `submitBatch`. The table generates
//! the resolvers and the batch items; [`run_household`](super::run_household) does the rest
//! the same way for all of them (business time, policy, idempotency, the updated file).
//!
//! The domain checks each step's order, role and jurisdiction; a conversion here only turns
//! input into the step's fields (parsing what GraphQL's types cannot say: months, attachment
//! hashes, ID numbers).

use async_graphql::{Context, Object, OneofObject, SimpleObject};
use dixian_domain::household::*;
use dixian_domain::{GridId, YearMonth};
use uuid::Uuid;

use super::inputs::*;
use super::{HouseholdPayload, Position, region, run_household};
use crate::error::ApiError;

/// Most items in one batch.
pub const MAX_BATCH: usize = 200;

/// The declaration table's grammar: `name(Input) [+ batch Variant] => conversion;`.
macro_rules! household_mutations {
    (
        $(
            $(#[$doc:meta])*
            $name:ident($input:ty) $(+ batch $variant:ident)? => $conv:expr;
        )+
    ) => {
        #[derive(Default)]
        pub struct HouseholdMutation;

        #[Object]
        impl HouseholdMutation {
            $(
                $(#[$doc])*
                async fn $name(
                    &self,
                    ctx: &Context<'_>,
                    input: $input,
                ) -> async_graphql::Result<HouseholdPayload> {
                    Ok(run_household(ctx, stringify!($name), &input, $conv).await?)
                }
            )+
        }

        /// One captured command: exactly one field is set.
        #[derive(OneofObject)]
        pub enum BatchCommand {
            $( $( $variant($input), )? )+
        }

        impl BatchCommand {
            async fn run(self, ctx: &Context<'_>) -> Result<HouseholdPayload, ApiError> {
                match self {
                    $( $( Self::$variant(input) => {
                        run_household(ctx, stringify!($name), &input, $conv).await
                    } )? )+
                }
            }
        }
    };
}

household_mutations! {
    // ── records ─────────────────────────────────────────────────────────────────────────
    /// 建档 — open a household's case file.
    register_household(RegisterHouseholdInput) + batch RegisterHousehold => |i, cx| {
        let village = region("village", &i.village)?;
        let grid = match &i.grid {
            Some(g) => Some(GridId::parse(g).map_err(|e| ApiError::bad_input("grid", e.to_string()))?),
            None => None,
        };
        Ok(RegisterHousehold {
            household_id: i.household_id.unwrap_or(i.file.command_id),
            village,
            grid,
            address: i.address.clone(),
            formerly_poor: i.formerly_poor,
            head: i.head.to_profile("head", cx.pii, cx.today)?,
        }
        .into())
    };
    /// Add a member (birth, marriage, moving in).
    add_member(AddMemberInput) + batch AddMember => |i, cx| Ok(AddMember {
        member: i.member.to_profile("member", cx.pii, cx.today)?,
        reason: i.reason.into(),
        date: i.date,
    }
    .into());
    /// Replace a member's profile (health, labour, schooling… change).
    update_member(UpdateMemberInput) + batch UpdateMember => |i, cx| {
        if i.member.member_id.is_none() {
            return Err(ApiError::bad_input("member.memberId", "the member to update is required"));
        }
        Ok(UpdateMember {
            member: i.member.to_profile("member", cx.pii, cx.today)?,
            note: i.note.clone(),
        }
        .into())
    };
    /// Remove a member (death, marriage out, moving out), with the date.
    remove_member(RemoveMemberInput) + batch RemoveMember => |i, _| Ok(RemoveMember {
        member_id: i.member_id,
        reason: i.reason.into(),
        date: i.date,
    }
    .into());
    /// Tag one of the three focus groups (三类群体) with a reason.
    tag_focus_group(FocusGroupInput) + batch TagFocusGroup => |i, _| Ok(TagFocusGroup {
        group: i.group.into(),
        reason: i.reason.clone(),
    }
    .into());
    untag_focus_group(FocusGroupInput) + batch UntagFocusGroup => |i, _| Ok(UntagFocusGroup {
        group: i.group.into(),
        reason: i.reason.clone(),
    }
    .into());
    /// Record 12 months of net income (per capita over resident members).
    record_income(RecordIncomeInput) + batch RecordIncome => |i, _| Ok(RecordIncome {
        income_id: i.income_id.unwrap_or_else(Uuid::now_v7),
        window_end: i
            .window_end
            .parse::<YearMonth>()
            .map_err(|_| ApiError::bad_input("windowEnd", "a month is written YYYY-MM"))?,
        components: IncomeComponents {
            wage_fen: i.wage_fen,
            business_fen: i.business_fen,
            property_fen: i.property_fen,
            transfer_fen: i.transfer_fen,
        },
        notes: i.notes.clone(),
    }
    .into());
    /// Correct an income record: new amounts and a reason; the original stays in the file.
    correct_income(CorrectIncomeInput) + batch CorrectIncome => |i, _| Ok(CorrectIncome {
        income_id: i.income_id,
        components: IncomeComponents {
            wage_fen: i.wage_fen,
            business_fen: i.business_fen,
            property_fen: i.property_fen,
            transfer_fen: i.transfer_fen,
        },
        reason: i.reason.clone(),
    }
    .into());
    /// Assess 两不愁三保障 and drinking water.
    assess_living_conditions(AssessLivingConditionsInput) + batch AssessLivingConditions
        => |i, _| Ok(AssessLivingConditions {
        assessment_id: Uuid::now_v7(),
        conditions: LivingConditions {
            food_clothing_secure: i.food_clothing_secure,
            compulsory_education_secure: i.compulsory_education_secure,
            basic_medical_secure: i.basic_medical_secure,
            housing_secure: i.housing_secure,
            drinking_water_secure: i.drinking_water_secure,
        },
        notes: i.notes.clone(),
    }
    .into());
    /// Record a visit (grid worker's routine visit, cadre's even-month visit, alert or removal
    /// verification) with its checklist, findings and attachment hashes.
    record_visit(RecordVisitInput) + batch RecordVisit => |i, _| Ok(RecordVisit {
        visit_id: i.visit_id.unwrap_or_else(Uuid::now_v7),
        kind: i.kind.into(),
        checklist: VisitChecklist {
            wall_materials_checked: i.wall_materials_checked,
            situation_discussed: i.situation_discussed,
            living_conditions_checked: i.living_conditions_checked,
        },
        findings: i.findings.clone(),
        attachments: attachments("attachments", &i.attachments)?,
        alert_id: i.alert_id,
    }
    .into());
    /// Correct a visit's findings, with a reason; the original stays in the file.
    correct_visit_findings(CorrectVisitFindingsInput) + batch CorrectVisitFindings
        => |i, _| Ok(CorrectVisitFindings {
        visit_id: i.visit_id,
        findings: i.findings.clone(),
        reason: i.reason.clone(),
    }
    .into());

    // ── identification (识别纳入) ─────────────────────────────────────────────────────────
    /// 申请 — record a household's application for monitoring with its signed authorisation
    /// (承诺授权). Also the re-entry of a household whose risk was removed (a new episode).
    apply_for_monitoring(ApplyForMonitoringInput) => |i, _| Ok(ApplyForMonitoring {
        application_id: i.application_id.unwrap_or_else(Uuid::now_v7),
        signed_authorisation: i.signed_authorisation,
        clue_found_on: i.clue_found_on,
        source_alert: i.source_alert,
        statement: i.statement.clone(),
        attachments: attachments("attachments", &i.attachments)?,
    }
    .into());
    /// 入户核实 — record the home verification by a team of at least two people.
    record_home_verification(VerificationInput) => |i, _| Ok(RecordVerification {
        verifier_ids: i.verifier_ids.clone(),
        findings: i.findings.clone(),
        attachments: attachments("attachments", &i.attachments)?,
        track: Inclusion,
    }
    .into());
    /// 信息比对 — record the county's cross-department data comparison.
    record_data_comparison(DataComparisonInput) => |i, _| Ok(RecordDataComparison {
        passed: i.passed,
        flags: i.flags.clone(),
        notes: i.notes.clone(),
    }
    .into());
    /// 民主评议 — record the village's democratic review with its minutes.
    record_democratic_review(DemocraticReviewInput) => |i, _| Ok(RecordDemocraticReview {
        minutes: i.minutes.clone(),
        attendees: count("attendees", i.attendees)?,
        result: i.result.into(),
        attachments: attachments("attachments", &i.attachments)?,
        track: Inclusion,
    }
    .into());
    /// 村内公示 — start the village public notice (at least 5 days under the national rules).
    start_public_notice(StartNoticeInput) => |i, _| Ok(StartPublicNotice {
        start: i.start,
        attachments: attachments("attachments", &i.attachments)?,
        track: Inclusion,
    }
    .into());
    /// 公示异议 — record an objection to the open notice (identification or removal).
    record_notice_objection(NoticeObjectionInput) => |i, _| Ok(RecordNoticeObjection {
        objection_id: i.objection_id.unwrap_or_else(Uuid::now_v7),
        summary: i.summary.clone(),
    }
    .into());
    /// 异议复核 — record the re-verification of an objection; every objection is re-verified
    /// before the notice may close.
    record_objection_reverification(ObjectionReverificationInput)
        => |i, _| Ok(RecordObjectionReverification {
        objection_id: i.objection_id,
        findings: i.findings.clone(),
        upheld: i.upheld,
        attachments: attachments("attachments", &i.attachments)?,
    }
    .into());
    /// 公示结束 — close the identification notice once its minimum days have passed.
    close_notice(HouseholdStepInput) => |_, _| Ok(CloseNotice { track: Inclusion }.into());
    /// 乡镇审核 — record the township's review of the identification.
    record_township_review(TownshipReviewInput) => |i, _| Ok(RecordTownshipReview {
        decision: i.decision.into(),
        opinion: i.opinion.clone(),
        track: Inclusion,
    }
    .into());
    /// 县级审定 — approve inclusion: the household becomes a monitored household (监测对象) of
    /// a category with its risk types and baseline income, as a new episode.
    approve_inclusion(ApproveInclusionInput) => |i, _| Ok(ApproveInclusion {
        episode_id: Uuid::now_v7(),
        category: i.category.into(),
        risk_types: codes(&i.risk_types),
        baseline_per_capita_fen: i.baseline_per_capita_fen,
        opinion: i.opinion.clone(),
    }
    .into());
    /// 不予纳入 — end the identification without inclusion, with the reason, at any stage
    /// before approval.
    reject_inclusion(ReasonInput) => |i, _| Ok(RejectInclusion { reason: i.reason.clone() }.into());
    /// 绿色通道 (先帮扶后认定) — for a disaster or accident: assistance may start before
    /// approval; the missing steps are back-filled by the policy's deadline, or flagged overdue.
    open_green_channel(OpenGreenChannelInput) => |i, _| Ok(OpenGreenChannel {
        risk_type: i.risk_type.into(),
        reason: i.reason.clone(),
    }
    .into());

    // ── assistance (精准帮扶) ─────────────────────────────────────────────────────────────
    /// 一户一策 — create the household's assistance plan for the current episode.
    create_assistance_plan(CreateAssistancePlanInput) => |i, _| Ok(CreateAssistancePlan {
        plan_id: i.plan_id.unwrap_or_else(Uuid::now_v7),
        summary: i.summary.clone(),
        helper_user_id: i.helper_user_id,
    }
    .into());
    /// 帮扶措施 — add a measure (type, department, amount in fen, start/end, the risk types it
    /// addresses).
    add_measure(AddMeasureInput) => |i, _| Ok(AddMeasure {
        measure_id: i.measure_id.unwrap_or_else(Uuid::now_v7),
        measure_type: i.measure_type.into(),
        department: i.department.clone(),
        description: i.description.clone(),
        amount_fen: i.amount_fen,
        start_date: i.start_date,
        end_date: i.end_date,
        risk_types: codes(&i.risk_types),
    }
    .into());
    /// 措施进展 — record a measure's progress (percent done).
    record_measure_progress(MeasureProgressInput) => |i, _| Ok(RecordMeasureProgress {
        measure_id: i.measure_id,
        progress: i.progress.clone(),
        percent: u8::try_from(i.percent)
            .ok()
            .filter(|p| *p <= 100)
            .ok_or_else(|| ApiError::bad_input("percent", "a percentage is 0 to 100"))?,
    }
    .into());
    /// 措施完成 — complete a measure with its outcome (帮扶成效).
    complete_measure(CompleteMeasureInput) => |i, _| Ok(CompleteMeasure {
        measure_id: i.measure_id,
        outcome: i.outcome.clone(),
        completed_on: i.completed_on,
    }
    .into());

    // ── risk removal (风险消除) ───────────────────────────────────────────────────────────
    /// 风险消除申请 — propose risk removal, with the reason. Refused with every failing reason
    /// while the household is not eligible.
    propose_removal(ReasonInput) => |i, _| Ok(ProposeRemoval { reason: i.reason.clone() }.into());
    /// 入户核实 — record the removal verification by a team of at least two people.
    record_removal_verification(VerificationInput) => |i, _| Ok(RecordVerification {
        verifier_ids: i.verifier_ids.clone(),
        findings: i.findings.clone(),
        attachments: attachments("attachments", &i.attachments)?,
        track: Removal,
    }
    .into());
    /// 民主评议 — record the democratic review of the removal.
    record_removal_democratic_review(DemocraticReviewInput) => |i, _| Ok(RecordDemocraticReview {
        minutes: i.minutes.clone(),
        attendees: count("attendees", i.attendees)?,
        result: i.result.into(),
        attachments: attachments("attachments", &i.attachments)?,
        track: Removal,
    }
    .into());
    /// 公示 — start the removal's village notice.
    start_removal_notice(StartNoticeInput) => |i, _| Ok(StartPublicNotice {
        start: i.start,
        attachments: attachments("attachments", &i.attachments)?,
        track: Removal,
    }
    .into());
    /// 公示结束 — close the removal notice once its minimum days have passed.
    close_removal_notice(HouseholdStepInput) => |_, _| Ok(CloseNotice { track: Removal }.into());
    /// 乡镇审核 — record the township's review of the removal.
    record_removal_township_review(TownshipReviewInput) => |i, _| Ok(RecordTownshipReview {
        decision: i.decision.into(),
        opinion: i.opinion.clone(),
        track: Removal,
    }
    .into());
    /// 县级审定 — approve the removal: the household's risk is removed (风险消除). Eligibility is
    /// checked again.
    approve_removal(ApproveRemovalInput) => |i, _| Ok(ApproveRemoval { opinion: i.opinion.clone() }.into());
    /// Withdraw a removal procedure (review rejected, objection upheld…), with the reason.
    withdraw_removal(ReasonInput) => |i, _| Ok(WithdrawRemoval { reason: i.reason.clone() }.into());
    /// 回退 — roll back a removal: the same episode is monitored again.
    rollback_removal(ReasonInput) => |i, _| Ok(RollbackRemoval { reason: i.reason.clone() }.into());
}

/// The outcome of one item.
#[derive(SimpleObject)]
pub struct BatchResult {
    /// The item's index in the request.
    pub index: i32,
    pub ok: bool,
    pub household_id: Option<Uuid>,
    pub position: Option<Position>,
    pub duplicate: bool,
    pub error: Option<BatchError>,
}

#[derive(SimpleObject)]
pub struct BatchError {
    /// The same codes as top-level errors (BAD_USER_INPUT, RULE_VIOLATION, CONFLICT, …).
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    pub rule: Option<String>,
}

#[derive(Default)]
pub struct BatchMutation;

#[Object]
impl BatchMutation {
    /// `submitBatch` — offline capture: a phone that was out of signal sends everything it
    /// recorded in one request. Each item is applied on its own, in order, idempotently (its own
    /// command id), with its own result: one refusal or conflict does not fail the others.
    /// Business time comes from the device (`occurredAt`), recorded time from the server. At
    /// most 200 items.
    async fn submit_batch(
        &self,
        ctx: &Context<'_>,
        items: Vec<BatchCommand>,
    ) -> async_graphql::Result<Vec<BatchResult>> {
        crate::schema::caller(ctx)?;
        if items.len() > MAX_BATCH {
            return Err(ApiError::bad_input(
                "items",
                format!("at most {MAX_BATCH} items per batch"),
            )
            .into());
        }
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let index = i32::try_from(index).unwrap_or(i32::MAX);
            out.push(match item.run(ctx).await {
                Ok(p) => BatchResult {
                    index,
                    ok: true,
                    household_id: Some(p.household.id),
                    position: Some(p.position),
                    duplicate: p.duplicate,
                    error: None,
                },
                Err(e) => BatchResult {
                    index,
                    error: Some({
                        e.log_cause();
                        BatchError {
                            code: e.code().to_owned(),
                            message: e.message(),
                            field: e.field().map(str::to_owned),
                            rule: e.rule().map(str::to_owned),
                        }
                    }),
                    ok: false,
                    household_id: None,
                    position: None,
                    duplicate: false,
                },
            });
        }
        Ok(out)
    }
}
