//! The facts of a household's case file. Every event names who (`by`) and when (`at`,
//! business time); procedure steps keep their opinion and evidence.

use chrono::{DateTime, NaiveDate, Utc};

use crate::macros::events;
use uuid::Uuid;

use crate::actor::Actor;
use crate::attachment::AttachmentHash;
use crate::calendar::YearMonth;
use crate::region::{GridId, RegionCode};
use crate::vocab::{
    Category, FocusGroup, MeasureType, MemberChangeReason, ReviewResult, RiskType, StudyDecision,
    TownshipDecision, VisitKind,
};

use super::state::{IdentificationStage, RemovalStage};
use super::values::{IncomeComponents, LivingConditions, MemberProfile, VisitChecklist};

events! {
/// A fact of a household's case file.
pub enum HouseholdEvent {
    HouseholdRegistered {
        household_id: Uuid,
        village: RegionCode,
        #[serde(default)]
        grid: Option<GridId>,
        address: String,
        formerly_poor: bool,
        head: MemberProfile,
        by: Actor,
        at: DateTime<Utc>,
    },
    MemberAdded {
        member: MemberProfile,
        reason: MemberChangeReason,
        date: NaiveDate,
        by: Actor,
        at: DateTime<Utc>,
    },
    MemberUpdated {
        member: MemberProfile,
        #[serde(default)]
        note: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    MemberRemoved {
        member_id: Uuid,
        reason: MemberChangeReason,
        date: NaiveDate,
        by: Actor,
        at: DateTime<Utc>,
    },
    FocusGroupTagged {
        group: FocusGroup,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    FocusGroupUntagged {
        group: FocusGroup,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    IncomeRecorded {
        income_id: Uuid,
        window_end: YearMonth,
        components: IncomeComponents,
        total_fen: i64,
        /// Resident members counted when the record was made.
        resident_members: u32,
        per_capita_fen: i64,
        #[serde(default)]
        notes: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// Corrects `income_id`'s amounts; the member count of the original record stands.
    IncomeCorrected {
        income_id: Uuid,
        components: IncomeComponents,
        total_fen: i64,
        per_capita_fen: i64,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    LivingConditionsAssessed {
        assessment_id: Uuid,
        conditions: LivingConditions,
        #[serde(default)]
        notes: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    VisitRecorded {
        visit_id: Uuid,
        kind: VisitKind,
        #[serde(default)]
        checklist: VisitChecklist,
        #[serde(default)]
        findings: String,
        #[serde(default)]
        attachments: Vec<AttachmentHash>,
        #[serde(default)]
        alert_id: Option<Uuid>,
        by: Actor,
        at: DateTime<Utc>,
    },
    VisitFindingsCorrected {
        visit_id: Uuid,
        findings: String,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    MonitoringApplied {
        application_id: Uuid,
        clue_found_on: NaiveDate,
        /// 识别时限 — the county should decide by this date.
        due_on: NaiveDate,
        /// Set on re-entry after a removal: the episode this one follows.
        #[serde(default)]
        previous_episode_id: Option<Uuid>,
        #[serde(default)]
        source_alert: Option<Uuid>,
        #[serde(default)]
        statement: String,
        #[serde(default)]
        attachments: Vec<AttachmentHash>,
        by: Actor,
        at: DateTime<Utc>,
    },
    HomeVerificationRecorded {
        verifier_ids: Vec<Uuid>,
        findings: String,
        #[serde(default)]
        attachments: Vec<AttachmentHash>,
        by: Actor,
        at: DateTime<Utc>,
    },
    DataComparisonRecorded {
        passed: bool,
        #[serde(default)]
        flags: Vec<String>,
        #[serde(default)]
        notes: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    DemocraticReviewRecorded {
        minutes: String,
        attendees: u32,
        result: ReviewResult,
        #[serde(default)]
        attachments: Vec<AttachmentHash>,
        by: Actor,
        at: DateTime<Utc>,
    },
    PublicNoticeStarted {
        start: NaiveDate,
        #[serde(default)]
        attachments: Vec<AttachmentHash>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// An objection to whichever notice is open (identification or removal).
    NoticeObjectionRecorded {
        objection_id: Uuid,
        summary: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    ObjectionReverified {
        objection_id: Uuid,
        findings: String,
        upheld: bool,
        #[serde(default)]
        attachments: Vec<AttachmentHash>,
        by: Actor,
        at: DateTime<Utc>,
    },
    PublicNoticeClosed {
        start: NaiveDate,
        closed_on: NaiveDate,
        days: u32,
        objections: u32,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// A return sends the case back to home verification.
    TownshipReviewRecorded {
        decision: TownshipDecision,
        #[serde(default)]
        opinion: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    InclusionApproved {
        episode_id: Uuid,
        /// 1 for the first inclusion, +1 for each re-entry.
        episode_number: u32,
        #[serde(default)]
        previous_episode_id: Option<Uuid>,
        category: Category,
        risk_types: Vec<RiskType>,
        baseline_per_capita_fen: i64,
        clue_found_on: NaiveDate,
        /// Days from the clue to this decision, and whether that met the deadline in force.
        days_from_clue: i64,
        within_deadline: bool,
        #[serde(default)]
        opinion: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    InclusionRejected {
        reason: String,
        stage: IdentificationStage,
        by: Actor,
        at: DateTime<Utc>,
    },
    GreenChannelOpened {
        risk_type: RiskType,
        reason: String,
        backfill_due: NaiveDate,
        by: Actor,
        at: DateTime<Utc>,
    },
    AssistancePlanCreated {
        plan_id: Uuid,
        /// The episode the plan serves (the coming one during the green channel).
        episode_number: u32,
        summary: String,
        #[serde(default)]
        helper_user_id: Option<Uuid>,
        by: Actor,
        at: DateTime<Utc>,
    },
    MeasureAdded {
        measure_id: Uuid,
        episode_number: u32,
        measure_type: MeasureType,
        department: String,
        #[serde(default)]
        description: String,
        amount_fen: i64,
        start_date: NaiveDate,
        end_date: NaiveDate,
        risk_types: Vec<RiskType>,
        /// Added under the green channel, before approval.
        #[serde(default)]
        before_approval: bool,
        by: Actor,
        at: DateTime<Utc>,
    },
    MeasureProgressRecorded {
        measure_id: Uuid,
        progress: String,
        percent: u8,
        by: Actor,
        at: DateTime<Utc>,
    },
    MeasureCompleted {
        measure_id: Uuid,
        outcome: String,
        completed_on: NaiveDate,
        by: Actor,
        at: DateTime<Utc>,
    },
    RemovalProposed {
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    RemovalVerificationRecorded {
        verifier_ids: Vec<Uuid>,
        findings: String,
        #[serde(default)]
        attachments: Vec<AttachmentHash>,
        by: Actor,
        at: DateTime<Utc>,
    },
    RemovalDemocraticReviewRecorded {
        minutes: String,
        attendees: u32,
        result: ReviewResult,
        #[serde(default)]
        attachments: Vec<AttachmentHash>,
        by: Actor,
        at: DateTime<Utc>,
    },
    RemovalNoticeStarted {
        start: NaiveDate,
        #[serde(default)]
        attachments: Vec<AttachmentHash>,
        by: Actor,
        at: DateTime<Utc>,
    },
    RemovalNoticeClosed {
        start: NaiveDate,
        closed_on: NaiveDate,
        days: u32,
        objections: u32,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// A return sends the removal back to its verification.
    RemovalTownshipReviewRecorded {
        decision: TownshipDecision,
        #[serde(default)]
        opinion: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    RiskRemovalApproved {
        episode_id: Uuid,
        #[serde(default)]
        opinion: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    RemovalWithdrawn {
        reason: String,
        stage: RemovalStage,
        by: Actor,
        at: DateTime<Utc>,
    },
    RemovalRolledBack {
        episode_id: Uuid,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    AlertLinked {
        alert_id: Uuid,
        by: Actor,
        at: DateTime<Utc>,
    },
    LinkedAlertClosed {
        alert_id: Uuid,
        #[serde(default)]
        disposition: Option<StudyDecision>,
        by: Actor,
        at: DateTime<Utc>,
    },
}
}
