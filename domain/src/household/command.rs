//! What people ask of a household's case file. Every command carries who asks (`actor`) and
//! when it happened (`at`, business time); new ids come inside; commands judged by policy
//! carry the province's `policy` book.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::actor::Actor;
use crate::attachment::AttachmentHash;
use crate::calendar::YearMonth;
use crate::policy::PolicyBook;
use crate::region::{GridId, RegionCode};
use crate::vocab::{
    Category, FocusGroup, MeasureType, MemberChangeReason, ReviewResult, RiskType, StudyDecision,
    TownshipDecision, VisitKind,
};

use super::values::{IncomeComponents, LivingConditions, MemberProfile, VisitChecklist};

#[derive(Debug, Clone, PartialEq)]
pub enum HouseholdCommand {
    // ── registration and household records ─────────────────────────────────────────────
    /// 建档 — open the case file of a household in a village.
    RegisterHousehold {
        actor: Actor,
        at: DateTime<Utc>,
        household_id: Uuid,
        village: RegionCode,
        grid: Option<GridId>,
        address: String,
        /// 脱贫户 — lifted out of poverty in 2014–2020 (建档立卡).
        formerly_poor: bool,
        head: MemberProfile,
    },
    AddMember {
        actor: Actor,
        at: DateTime<Utc>,
        member: MemberProfile,
        reason: MemberChangeReason,
        date: NaiveDate,
    },
    /// Replaces a member's profile (health, labour, schooling… change over time).
    UpdateMember {
        actor: Actor,
        at: DateTime<Utc>,
        member: MemberProfile,
        note: String,
    },
    RemoveMember {
        actor: Actor,
        at: DateTime<Utc>,
        member_id: Uuid,
        reason: MemberChangeReason,
        date: NaiveDate,
    },
    TagFocusGroup {
        actor: Actor,
        at: DateTime<Utc>,
        group: FocusGroup,
        reason: String,
    },
    UntagFocusGroup {
        actor: Actor,
        at: DateTime<Utc>,
        group: FocusGroup,
        reason: String,
    },
    /// Net income over the 12 months ending in `window_end`.
    RecordIncome {
        actor: Actor,
        at: DateTime<Utc>,
        income_id: Uuid,
        window_end: YearMonth,
        components: IncomeComponents,
        notes: String,
    },
    /// Correction of an income record: new amounts, with a reason.
    CorrectIncome {
        actor: Actor,
        at: DateTime<Utc>,
        income_id: Uuid,
        components: IncomeComponents,
        reason: String,
    },
    /// 两不愁三保障及饮水安全 assessment.
    AssessLivingConditions {
        actor: Actor,
        at: DateTime<Utc>,
        assessment_id: Uuid,
        conditions: LivingConditions,
        notes: String,
    },
    RecordVisit {
        actor: Actor,
        at: DateTime<Utc>,
        visit_id: Uuid,
        kind: VisitKind,
        checklist: VisitChecklist,
        findings: String,
        attachments: Vec<AttachmentHash>,
        /// The alert this visit verifies, if any.
        alert_id: Option<Uuid>,
    },
    /// Correction of a visit's findings, with a reason.
    CorrectVisitFindings {
        actor: Actor,
        at: DateTime<Utc>,
        visit_id: Uuid,
        findings: String,
        reason: String,
    },

    // ── identification (识别纳入) ────────────────────────────────────────────────────────
    /// 申请 + 承诺授权. Also the re-entry of a household whose risk was removed: it goes
    /// through the whole procedure again and becomes a new episode.
    ApplyForMonitoring {
        actor: Actor,
        at: DateTime<Utc>,
        policy: PolicyBook,
        application_id: Uuid,
        /// 《监测对象申请及承诺授权查询书》 signed: without it, nothing may be queried.
        signed_authorisation: bool,
        /// When the clue was found (alert raised, visit…); the deadline counts from it.
        /// Defaults to the application date.
        clue_found_on: Option<NaiveDate>,
        source_alert: Option<Uuid>,
        statement: String,
        attachments: Vec<AttachmentHash>,
    },
    /// 入户核实
    RecordHomeVerification {
        actor: Actor,
        at: DateTime<Utc>,
        policy: PolicyBook,
        verifier_ids: Vec<Uuid>,
        findings: String,
        attachments: Vec<AttachmentHash>,
    },
    /// 信息比对 — the county's cross-department comparison.
    RecordDataComparison {
        actor: Actor,
        at: DateTime<Utc>,
        passed: bool,
        /// What the comparison found (vehicle, business licence, civil servant…).
        flags: Vec<String>,
        notes: String,
    },
    /// 民主评议
    RecordDemocraticReview {
        actor: Actor,
        at: DateTime<Utc>,
        minutes: String,
        attendees: u32,
        result: ReviewResult,
        attachments: Vec<AttachmentHash>,
    },
    /// 村内公示
    StartPublicNotice {
        actor: Actor,
        at: DateTime<Utc>,
        start: NaiveDate,
        attachments: Vec<AttachmentHash>,
    },
    /// An objection to the open notice (identification or removal).
    RecordNoticeObjection {
        actor: Actor,
        at: DateTime<Utc>,
        objection_id: Uuid,
        summary: String,
    },
    /// 异议复核 — every objection is re-verified before the notice may close.
    RecordObjectionReverification {
        actor: Actor,
        at: DateTime<Utc>,
        objection_id: Uuid,
        findings: String,
        upheld: bool,
        attachments: Vec<AttachmentHash>,
    },
    CloseNotice {
        actor: Actor,
        at: DateTime<Utc>,
        policy: PolicyBook,
    },
    /// 乡镇审核
    RecordTownshipReview {
        actor: Actor,
        at: DateTime<Utc>,
        decision: TownshipDecision,
        opinion: String,
    },
    /// 县级审定 ⇒ monitored, as a new episode.
    ApproveInclusion {
        actor: Actor,
        at: DateTime<Utc>,
        episode_id: Uuid,
        category: Category,
        risk_types: Vec<RiskType>,
        baseline_per_capita_fen: i64,
        opinion: String,
    },
    /// Ends the procedure without inclusion, at any stage before approval.
    RejectInclusion {
        actor: Actor,
        at: DateTime<Utc>,
        reason: String,
    },
    /// 绿色通道 (先帮扶后认定) for disaster or accident: measures before approval.
    OpenGreenChannel {
        actor: Actor,
        at: DateTime<Utc>,
        policy: PolicyBook,
        risk_type: RiskType,
        reason: String,
    },

    // ── assistance (精准帮扶) ────────────────────────────────────────────────────────────
    /// 一户一策
    CreateAssistancePlan {
        actor: Actor,
        at: DateTime<Utc>,
        plan_id: Uuid,
        summary: String,
        /// 帮扶责任人
        helper_user_id: Option<Uuid>,
    },
    AddMeasure {
        actor: Actor,
        at: DateTime<Utc>,
        measure_id: Uuid,
        measure_type: MeasureType,
        department: String,
        description: String,
        amount_fen: i64,
        start_date: NaiveDate,
        end_date: NaiveDate,
        risk_types: Vec<RiskType>,
    },
    RecordMeasureProgress {
        actor: Actor,
        at: DateTime<Utc>,
        measure_id: Uuid,
        progress: String,
        percent: u8,
    },
    CompleteMeasure {
        actor: Actor,
        at: DateTime<Utc>,
        measure_id: Uuid,
        outcome: String,
        completed_on: NaiveDate,
    },

    // ── risk removal (风险消除) ──────────────────────────────────────────────────────────
    ProposeRemoval {
        actor: Actor,
        at: DateTime<Utc>,
        policy: PolicyBook,
        reason: String,
    },
    RecordRemovalVerification {
        actor: Actor,
        at: DateTime<Utc>,
        policy: PolicyBook,
        verifier_ids: Vec<Uuid>,
        findings: String,
        attachments: Vec<AttachmentHash>,
    },
    RecordRemovalDemocraticReview {
        actor: Actor,
        at: DateTime<Utc>,
        minutes: String,
        attendees: u32,
        result: ReviewResult,
        attachments: Vec<AttachmentHash>,
    },
    StartRemovalNotice {
        actor: Actor,
        at: DateTime<Utc>,
        start: NaiveDate,
        attachments: Vec<AttachmentHash>,
    },
    CloseRemovalNotice {
        actor: Actor,
        at: DateTime<Utc>,
        policy: PolicyBook,
    },
    RecordRemovalTownshipReview {
        actor: Actor,
        at: DateTime<Utc>,
        decision: TownshipDecision,
        opinion: String,
    },
    /// 县级审定 ⇒ risk removed. Eligibility is checked again here.
    ApproveRemoval {
        actor: Actor,
        at: DateTime<Utc>,
        policy: PolicyBook,
        opinion: String,
    },
    /// Abandons a removal procedure (review rejected, objection upheld…).
    WithdrawRemoval {
        actor: Actor,
        at: DateTime<Utc>,
        reason: String,
    },
    /// 回退 — undoes a removal: the same episode is monitored again.
    RollbackRemoval {
        actor: Actor,
        at: DateTime<Utc>,
        reason: String,
    },

    // ── alerts, recorded by the service ─────────────────────────────────────────────────
    /// An alert about this household was raised; it blocks removal until closed.
    LinkAlert {
        actor: Actor,
        at: DateTime<Utc>,
        alert_id: Uuid,
    },
    CloseLinkedAlert {
        actor: Actor,
        at: DateTime<Utc>,
        alert_id: Uuid,
        disposition: Option<StudyDecision>,
    },
}

impl HouseholdCommand {
    pub fn actor(&self) -> &Actor {
        match self {
            Self::RegisterHousehold { actor, .. }
            | Self::AddMember { actor, .. }
            | Self::UpdateMember { actor, .. }
            | Self::RemoveMember { actor, .. }
            | Self::TagFocusGroup { actor, .. }
            | Self::UntagFocusGroup { actor, .. }
            | Self::RecordIncome { actor, .. }
            | Self::CorrectIncome { actor, .. }
            | Self::AssessLivingConditions { actor, .. }
            | Self::RecordVisit { actor, .. }
            | Self::CorrectVisitFindings { actor, .. }
            | Self::ApplyForMonitoring { actor, .. }
            | Self::RecordHomeVerification { actor, .. }
            | Self::RecordDataComparison { actor, .. }
            | Self::RecordDemocraticReview { actor, .. }
            | Self::StartPublicNotice { actor, .. }
            | Self::RecordNoticeObjection { actor, .. }
            | Self::RecordObjectionReverification { actor, .. }
            | Self::CloseNotice { actor, .. }
            | Self::RecordTownshipReview { actor, .. }
            | Self::ApproveInclusion { actor, .. }
            | Self::RejectInclusion { actor, .. }
            | Self::OpenGreenChannel { actor, .. }
            | Self::CreateAssistancePlan { actor, .. }
            | Self::AddMeasure { actor, .. }
            | Self::RecordMeasureProgress { actor, .. }
            | Self::CompleteMeasure { actor, .. }
            | Self::ProposeRemoval { actor, .. }
            | Self::RecordRemovalVerification { actor, .. }
            | Self::RecordRemovalDemocraticReview { actor, .. }
            | Self::StartRemovalNotice { actor, .. }
            | Self::CloseRemovalNotice { actor, .. }
            | Self::RecordRemovalTownshipReview { actor, .. }
            | Self::ApproveRemoval { actor, .. }
            | Self::WithdrawRemoval { actor, .. }
            | Self::RollbackRemoval { actor, .. }
            | Self::LinkAlert { actor, .. }
            | Self::CloseLinkedAlert { actor, .. } => actor,
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::RegisterHousehold { at, .. }
            | Self::AddMember { at, .. }
            | Self::UpdateMember { at, .. }
            | Self::RemoveMember { at, .. }
            | Self::TagFocusGroup { at, .. }
            | Self::UntagFocusGroup { at, .. }
            | Self::RecordIncome { at, .. }
            | Self::CorrectIncome { at, .. }
            | Self::AssessLivingConditions { at, .. }
            | Self::RecordVisit { at, .. }
            | Self::CorrectVisitFindings { at, .. }
            | Self::ApplyForMonitoring { at, .. }
            | Self::RecordHomeVerification { at, .. }
            | Self::RecordDataComparison { at, .. }
            | Self::RecordDemocraticReview { at, .. }
            | Self::StartPublicNotice { at, .. }
            | Self::RecordNoticeObjection { at, .. }
            | Self::RecordObjectionReverification { at, .. }
            | Self::CloseNotice { at, .. }
            | Self::RecordTownshipReview { at, .. }
            | Self::ApproveInclusion { at, .. }
            | Self::RejectInclusion { at, .. }
            | Self::OpenGreenChannel { at, .. }
            | Self::CreateAssistancePlan { at, .. }
            | Self::AddMeasure { at, .. }
            | Self::RecordMeasureProgress { at, .. }
            | Self::CompleteMeasure { at, .. }
            | Self::ProposeRemoval { at, .. }
            | Self::RecordRemovalVerification { at, .. }
            | Self::RecordRemovalDemocraticReview { at, .. }
            | Self::StartRemovalNotice { at, .. }
            | Self::CloseRemovalNotice { at, .. }
            | Self::RecordRemovalTownshipReview { at, .. }
            | Self::ApproveRemoval { at, .. }
            | Self::WithdrawRemoval { at, .. }
            | Self::RollbackRemoval { at, .. }
            | Self::LinkAlert { at, .. }
            | Self::CloseLinkedAlert { at, .. } => *at,
        }
    }

    /// The policy book a command carries, if it is judged by policy.
    pub fn policy(&self) -> Option<&PolicyBook> {
        match self {
            Self::ApplyForMonitoring { policy, .. }
            | Self::RecordHomeVerification { policy, .. }
            | Self::CloseNotice { policy, .. }
            | Self::OpenGreenChannel { policy, .. }
            | Self::ProposeRemoval { policy, .. }
            | Self::RecordRemovalVerification { policy, .. }
            | Self::CloseRemovalNotice { policy, .. }
            | Self::ApproveRemoval { policy, .. } => Some(policy),
            _ => None,
        }
    }

    /// The command's name, as a verb phrase for messages ("may not …").
    pub fn action(&self) -> &'static str {
        match self {
            Self::RegisterHousehold { .. } => "register a household",
            Self::AddMember { .. } => "add a member",
            Self::UpdateMember { .. } => "update a member",
            Self::RemoveMember { .. } => "remove a member",
            Self::TagFocusGroup { .. } => "tag a focus group",
            Self::UntagFocusGroup { .. } => "untag a focus group",
            Self::RecordIncome { .. } => "record income",
            Self::CorrectIncome { .. } => "correct income",
            Self::AssessLivingConditions { .. } => "assess living conditions",
            Self::RecordVisit { .. } => "record this kind of visit",
            Self::CorrectVisitFindings { .. } => "correct visit findings",
            Self::ApplyForMonitoring { .. } => "apply for monitoring",
            Self::RecordHomeVerification { .. } => "record a home verification",
            Self::RecordDataComparison { .. } => "record a data comparison",
            Self::RecordDemocraticReview { .. } => "record a democratic review",
            Self::StartPublicNotice { .. } => "start a public notice",
            Self::RecordNoticeObjection { .. } => "record a notice objection",
            Self::RecordObjectionReverification { .. } => "re-verify an objection",
            Self::CloseNotice { .. } => "close a public notice",
            Self::RecordTownshipReview { .. } => "record a township review",
            Self::ApproveInclusion { .. } => "approve inclusion",
            Self::RejectInclusion { .. } => "reject inclusion",
            Self::OpenGreenChannel { .. } => "open the green channel",
            Self::CreateAssistancePlan { .. } => "create an assistance plan",
            Self::AddMeasure { .. } => "add a measure",
            Self::RecordMeasureProgress { .. } => "record measure progress",
            Self::CompleteMeasure { .. } => "complete a measure",
            Self::ProposeRemoval { .. } => "propose risk removal",
            Self::RecordRemovalVerification { .. } => "record a removal verification",
            Self::RecordRemovalDemocraticReview { .. } => "record a removal democratic review",
            Self::StartRemovalNotice { .. } => "start a removal notice",
            Self::CloseRemovalNotice { .. } => "close a removal notice",
            Self::RecordRemovalTownshipReview { .. } => "record a removal township review",
            Self::ApproveRemoval { .. } => "approve risk removal",
            Self::WithdrawRemoval { .. } => "withdraw a removal",
            Self::RollbackRemoval { .. } => "roll back a removal",
            Self::LinkAlert { .. } => "link an alert",
            Self::CloseLinkedAlert { .. } => "close a linked alert",
        }
    }
}
