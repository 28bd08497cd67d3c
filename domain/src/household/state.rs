//! What a household's case file says now: enough for every decision and for the eligibility
//! query. Read models with full detail are built by projections from the events.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::calendar::{YearMonth, china_date};
use crate::macros::vocab;
use crate::region::{GridId, RegionCode};
use crate::vocab::{
    Category, FocusGroup, MeasureType, MemberChangeReason, ReviewResult, RiskType,
    TownshipDecision, VisitKind,
};

use super::event::HouseholdEvent;
use super::values::{IncomeComponents, LivingConditions, MemberProfile};

vocab! {
    /// 监测状态 — where the household stands.
    #[derive(Default)]
    pub enum MonitoringStatus {
        #[default]
        NotMonitored = "NOT_MONITORED" => "未纳入监测",
        Identifying = "IDENTIFYING" => "识别认定中",
        Monitored = "MONITORED" => "监测帮扶中（风险未消除）",
        RiskRemoved = "RISK_REMOVED" => "风险已消除",
    }
}

vocab! {
    /// 识别认定步骤 — the last step the identification procedure completed.
    pub enum IdentificationStage {
        Applied = "APPLIED" => "已申请",
        HomeVerified = "HOME_VERIFIED" => "已入户核实",
        DataCompared = "DATA_COMPARED" => "已信息比对",
        ReviewApproved = "REVIEW_APPROVED" => "民主评议通过",
        ReviewRejected = "REVIEW_REJECTED" => "民主评议未通过",
        NoticeOpen = "NOTICE_OPEN" => "公示中",
        NoticeClosed = "NOTICE_CLOSED" => "公示结束",
        TownshipApproved = "TOWNSHIP_APPROVED" => "乡镇审核通过",
    }
}

vocab! {
    /// 风险消除步骤 — the last step the removal procedure completed.
    pub enum RemovalStage {
        Proposed = "PROPOSED" => "已提出",
        Verified = "VERIFIED" => "已入户核实",
        ReviewApproved = "REVIEW_APPROVED" => "民主评议通过",
        ReviewRejected = "REVIEW_REJECTED" => "民主评议未通过",
        NoticeOpen = "NOTICE_OPEN" => "公示中",
        NoticeClosed = "NOTICE_CLOSED" => "公示结束",
        TownshipApproved = "TOWNSHIP_APPROVED" => "乡镇审核通过",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Registration {
    pub household_id: Uuid,
    pub village: RegionCode,
    pub grid: Option<GridId>,
    pub address: String,
    pub formerly_poor: bool,
    pub registered_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FormerMember {
    pub profile: MemberProfile,
    pub reason: MemberChangeReason,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FocusTag {
    pub reason: String,
    pub tagged_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IncomeRecord {
    pub income_id: Uuid,
    pub window_end: YearMonth,
    pub components: IncomeComponents,
    pub total_fen: i64,
    pub resident_members: u32,
    pub per_capita_fen: i64,
    pub recorded_at: DateTime<Utc>,
    pub corrected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Assessment {
    pub assessment_id: Uuid,
    pub conditions: LivingConditions,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Visit {
    pub visit_id: Uuid,
    pub kind: VisitKind,
    pub findings: String,
    pub visitor: Uuid,
    pub at: DateTime<Utc>,
    pub alert_id: Option<Uuid>,
    pub corrected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Objection {
    pub summary: String,
    pub raised_at: DateTime<Utc>,
    /// `Some(upheld)` once re-verified.
    pub reverified: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    pub start: NaiveDate,
    pub objections: BTreeMap<Uuid, Objection>,
    pub closed_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GreenChannel {
    pub risk_type: RiskType,
    pub reason: String,
    pub opened_at: DateTime<Utc>,
    pub backfill_due: NaiveDate,
}

impl GreenChannel {
    /// Assisted first, but the procedure not back-filled by the deadline.
    pub fn is_overdue(&self, as_of: NaiveDate) -> bool {
        as_of > self.backfill_due
    }
}

/// The village procedure as far as it has got (村级程序: 民主评议 → 公示 → 乡镇审核), the part
/// identification and removal share; `S` is the procedure's own list of stages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VillageSteps<S> {
    /// The last step completed.
    pub stage: S,
    /// The business date of the democratic review, once held.
    pub reviewed_on: Option<NaiveDate>,
    pub notice: Option<Notice>,
    /// Times the township sent the case back.
    pub returns: u32,
}

impl<S> VillageSteps<S> {
    pub fn new(stage: S) -> Self {
        Self {
            stage,
            reviewed_on: None,
            notice: None,
            returns: 0,
        }
    }

    pub(crate) fn reviewed(
        &mut self,
        approved: S,
        rejected: S,
        result: ReviewResult,
        at: DateTime<Utc>,
    ) {
        self.stage = match result {
            ReviewResult::Approve => approved,
            ReviewResult::Reject => rejected,
        };
        self.reviewed_on = Some(china_date(at));
    }

    pub(crate) fn notice_started(&mut self, open: S, start: NaiveDate) {
        self.stage = open;
        self.notice = Some(Notice {
            start,
            objections: BTreeMap::new(),
            closed_on: None,
        });
    }

    pub(crate) fn notice_closed(&mut self, closed: S, closed_on: NaiveDate) {
        self.stage = closed;
        if let Some(notice) = &mut self.notice {
            notice.closed_on = Some(closed_on);
        }
    }

    /// The township approved, or sent the case back to its verification (a fresh review and
    /// notice are needed then).
    pub(crate) fn township_decided(&mut self, approved: S, back_to: S, decision: TownshipDecision) {
        match decision {
            TownshipDecision::Approve => self.stage = approved,
            TownshipDecision::Return => {
                self.stage = back_to;
                self.reviewed_on = None;
                self.notice = None;
                self.returns = self.returns.saturating_add(1);
            }
        }
    }
}

/// An identification procedure under way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identification {
    pub application_id: Uuid,
    pub applied_at: DateTime<Utc>,
    pub clue_found_on: NaiveDate,
    pub due_on: NaiveDate,
    pub previous_episode_id: Option<Uuid>,
    pub source_alert: Option<Uuid>,
    #[serde(flatten)]
    pub steps: VillageSteps<IdentificationStage>,
    pub green_channel: Option<GreenChannel>,
}

impl Identification {
    /// Past the identification deadline without a decision: a flag, never a refusal.
    pub fn is_overdue(&self, as_of: NaiveDate) -> bool {
        as_of > self.due_on
    }
}

/// One period of monitoring, from county approval to removal. A relapse after removal opens
/// the next episode; a rollback reopens the same one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Episode {
    pub episode_id: Uuid,
    pub number: u32,
    pub previous_episode_id: Option<Uuid>,
    pub category: Category,
    pub risk_types: Vec<RiskType>,
    pub baseline_per_capita_fen: i64,
    pub clue_found_on: NaiveDate,
    pub approved_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
    pub rollbacks: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AssistancePlan {
    pub plan_id: Uuid,
    pub episode_number: u32,
    pub summary: String,
    pub helper_user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Measure {
    pub measure_id: Uuid,
    pub episode_number: u32,
    pub measure_type: MeasureType,
    pub department: String,
    pub amount_fen: i64,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub risk_types: Vec<RiskType>,
    pub before_approval: bool,
    pub percent: u8,
    pub completed_on: Option<NaiveDate>,
}

/// A removal procedure under way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemovalProcedure {
    pub proposed_at: DateTime<Utc>,
    #[serde(flatten)]
    pub steps: VillageSteps<RemovalStage>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HouseholdState {
    /// `None` until registered.
    pub registration: Option<Registration>,
    pub members: BTreeMap<Uuid, MemberProfile>,
    pub former_members: BTreeMap<Uuid, FormerMember>,
    pub focus_groups: BTreeMap<FocusGroup, FocusTag>,
    /// In log order; for a month, the later record counts.
    pub incomes: Vec<IncomeRecord>,
    /// The assessment with the latest business time.
    pub latest_assessment: Option<Assessment>,
    pub visits: BTreeMap<Uuid, Visit>,
    pub status: MonitoringStatus,
    pub identification: Option<Identification>,
    /// Every episode, oldest first; while monitored, the last one is open.
    pub episodes: Vec<Episode>,
    pub plans: Vec<AssistancePlan>,
    pub measures: BTreeMap<Uuid, Measure>,
    pub removal: Option<RemovalProcedure>,
    pub open_alerts: BTreeSet<Uuid>,
}

impl HouseholdState {
    pub fn is_registered(&self) -> bool {
        self.registration.is_some()
    }

    /// The open episode, while monitored.
    pub fn current_episode(&self) -> Option<&Episode> {
        match self.status {
            MonitoringStatus::Monitored => self.episodes.last(),
            _ => None,
        }
    }

    /// The episode assistance is recorded for: the open one while monitored, the coming one
    /// during identification (green channel).
    pub fn working_episode_number(&self) -> Option<u32> {
        match self.status {
            MonitoringStatus::Monitored => self.episodes.last().map(|e| e.number),
            MonitoringStatus::Identifying => Some(self.next_episode_number()),
            _ => None,
        }
    }

    pub fn next_episode_number(&self) -> u32 {
        u32::try_from(self.episodes.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }

    pub fn plan_for(&self, episode_number: u32) -> Option<&AssistancePlan> {
        self.plans
            .iter()
            .rev()
            .find(|p| p.episode_number == episode_number)
    }

    pub fn resident_members(&self) -> impl Iterator<Item = &MemberProfile> {
        self.members.values().filter(|m| m.resident)
    }

    pub fn resident_count(&self) -> u32 {
        u32::try_from(self.resident_members().count()).unwrap_or(u32::MAX)
    }

    pub fn head(&self) -> Option<&MemberProfile> {
        self.members
            .values()
            .find(|m| m.relation == crate::vocab::Relation::Head)
    }

    pub fn in_green_channel(&self) -> bool {
        self.identification
            .as_ref()
            .is_some_and(|i| i.green_channel.is_some())
    }

    /// The identification deadline while a procedure is under way.
    pub fn identification_due(&self) -> Option<NaiveDate> {
        self.identification.as_ref().map(|i| i.due_on)
    }

    /// Past the identification deadline without a decision: a flag, never a refusal.
    pub fn is_identification_overdue(&self, as_of: NaiveDate) -> bool {
        self.identification
            .as_ref()
            .is_some_and(|i| i.is_overdue(as_of))
    }

    /// Assisted under the green channel but the procedure not back-filled in time.
    pub fn is_green_channel_overdue(&self, as_of: NaiveDate) -> bool {
        self.identification
            .as_ref()
            .and_then(|i| i.green_channel.as_ref())
            .is_some_and(|g| g.is_overdue(as_of))
    }

    /// Fold one fact into the state. Total: facts are never refused here.
    pub fn evolve(mut self, event: &HouseholdEvent) -> Self {
        use HouseholdEvent as E;
        match event {
            E::HouseholdRegistered {
                household_id,
                village,
                grid,
                address,
                formerly_poor,
                head,
                at,
                ..
            } => {
                self.registration = Some(Registration {
                    household_id: *household_id,
                    village: village.clone(),
                    grid: grid.clone(),
                    address: address.clone(),
                    formerly_poor: *formerly_poor,
                    registered_at: *at,
                });
                self.members.insert(head.member_id, head.clone());
            }
            E::MemberAdded { member, .. } | E::MemberUpdated { member, .. } => {
                // A former member may come back (moved out, moved in again).
                self.former_members.remove(&member.member_id);
                self.members.insert(member.member_id, member.clone());
            }
            E::MemberRemoved {
                member_id,
                reason,
                date,
                ..
            } => {
                if let Some(profile) = self.members.remove(member_id) {
                    self.former_members.insert(
                        *member_id,
                        FormerMember {
                            profile,
                            reason: *reason,
                            date: *date,
                        },
                    );
                }
            }
            E::FocusGroupTagged {
                group, reason, at, ..
            } => {
                self.focus_groups.insert(
                    *group,
                    FocusTag {
                        reason: reason.clone(),
                        tagged_at: *at,
                    },
                );
            }
            E::FocusGroupUntagged { group, .. } => {
                self.focus_groups.remove(group);
            }
            E::IncomeRecorded {
                income_id,
                window_end,
                components,
                total_fen,
                resident_members,
                per_capita_fen,
                at,
                ..
            } => self.incomes.push(IncomeRecord {
                income_id: *income_id,
                window_end: *window_end,
                components: *components,
                total_fen: *total_fen,
                resident_members: *resident_members,
                per_capita_fen: *per_capita_fen,
                recorded_at: *at,
                corrected: false,
            }),
            E::IncomeCorrected {
                income_id,
                components,
                total_fen,
                per_capita_fen,
                ..
            } => {
                if let Some(record) = self.incomes.iter_mut().find(|r| r.income_id == *income_id) {
                    record.components = *components;
                    record.total_fen = *total_fen;
                    record.per_capita_fen = *per_capita_fen;
                    record.corrected = true;
                }
            }
            E::LivingConditionsAssessed {
                assessment_id,
                conditions,
                at,
                ..
            } => {
                if self.latest_assessment.as_ref().is_none_or(|a| a.at <= *at) {
                    self.latest_assessment = Some(Assessment {
                        assessment_id: *assessment_id,
                        conditions: *conditions,
                        at: *at,
                    });
                }
            }
            E::VisitRecorded {
                visit_id,
                kind,
                findings,
                alert_id,
                by,
                at,
                ..
            } => {
                self.visits.insert(
                    *visit_id,
                    Visit {
                        visit_id: *visit_id,
                        kind: *kind,
                        findings: findings.clone(),
                        visitor: by.user_id,
                        at: *at,
                        alert_id: *alert_id,
                        corrected: false,
                    },
                );
            }
            E::VisitFindingsCorrected {
                visit_id, findings, ..
            } => {
                if let Some(visit) = self.visits.get_mut(visit_id) {
                    visit.findings = findings.clone();
                    visit.corrected = true;
                }
            }
            E::MonitoringApplied {
                application_id,
                clue_found_on,
                due_on,
                previous_episode_id,
                source_alert,
                at,
                ..
            } => {
                self.identification = Some(Identification {
                    application_id: *application_id,
                    applied_at: *at,
                    clue_found_on: *clue_found_on,
                    due_on: *due_on,
                    previous_episode_id: *previous_episode_id,
                    source_alert: *source_alert,
                    steps: VillageSteps::new(IdentificationStage::Applied),
                    green_channel: None,
                });
                self.status = MonitoringStatus::Identifying;
            }
            E::HomeVerificationRecorded { .. } => {
                if let Some(s) = self.identification_steps() {
                    s.stage = IdentificationStage::HomeVerified;
                }
            }
            E::DataComparisonRecorded { .. } => {
                if let Some(s) = self.identification_steps() {
                    s.stage = IdentificationStage::DataCompared;
                }
            }
            E::DemocraticReviewRecorded { result, at, .. } => {
                if let Some(s) = self.identification_steps() {
                    use IdentificationStage as S;
                    s.reviewed(S::ReviewApproved, S::ReviewRejected, *result, *at);
                }
            }
            E::PublicNoticeStarted { start, .. } => {
                if let Some(s) = self.identification_steps() {
                    s.notice_started(IdentificationStage::NoticeOpen, *start);
                }
            }
            E::NoticeObjectionRecorded {
                objection_id,
                summary,
                at,
                ..
            } => {
                if let Some(notice) = self.open_notice_mut() {
                    notice.objections.insert(
                        *objection_id,
                        Objection {
                            summary: summary.clone(),
                            raised_at: *at,
                            reverified: None,
                        },
                    );
                }
            }
            E::ObjectionReverified {
                objection_id,
                upheld,
                ..
            } => {
                if let Some(objection) = self
                    .open_notice_mut()
                    .and_then(|n| n.objections.get_mut(objection_id))
                {
                    objection.reverified = Some(*upheld);
                }
            }
            E::PublicNoticeClosed { closed_on, .. } => {
                if let Some(s) = self.identification_steps() {
                    s.notice_closed(IdentificationStage::NoticeClosed, *closed_on);
                }
            }
            E::TownshipReviewRecorded { decision, .. } => {
                if let Some(s) = self.identification_steps() {
                    use IdentificationStage as S;
                    s.township_decided(S::TownshipApproved, S::Applied, *decision);
                }
            }
            E::InclusionApproved {
                episode_id,
                episode_number,
                previous_episode_id,
                category,
                risk_types,
                baseline_per_capita_fen,
                clue_found_on,
                at,
                ..
            } => {
                self.episodes.push(Episode {
                    episode_id: *episode_id,
                    number: *episode_number,
                    previous_episode_id: *previous_episode_id,
                    category: *category,
                    risk_types: risk_types.clone(),
                    baseline_per_capita_fen: *baseline_per_capita_fen,
                    clue_found_on: *clue_found_on,
                    approved_at: *at,
                    removed_at: None,
                    rollbacks: 0,
                });
                self.identification = None;
                self.status = MonitoringStatus::Monitored;
            }
            E::InclusionRejected { .. } => {
                self.identification = None;
                self.status = if self.episodes.is_empty() {
                    MonitoringStatus::NotMonitored
                } else {
                    MonitoringStatus::RiskRemoved
                };
            }
            E::GreenChannelOpened {
                risk_type,
                reason,
                backfill_due,
                at,
                ..
            } => {
                if let Some(i) = &mut self.identification {
                    i.green_channel = Some(GreenChannel {
                        risk_type: *risk_type,
                        reason: reason.clone(),
                        opened_at: *at,
                        backfill_due: *backfill_due,
                    });
                }
            }
            E::AssistancePlanCreated {
                plan_id,
                episode_number,
                summary,
                helper_user_id,
                at,
                ..
            } => self.plans.push(AssistancePlan {
                plan_id: *plan_id,
                episode_number: *episode_number,
                summary: summary.clone(),
                helper_user_id: *helper_user_id,
                created_at: *at,
            }),
            E::MeasureAdded {
                measure_id,
                episode_number,
                measure_type,
                department,
                amount_fen,
                start_date,
                end_date,
                risk_types,
                before_approval,
                ..
            } => {
                self.measures.insert(
                    *measure_id,
                    Measure {
                        measure_id: *measure_id,
                        episode_number: *episode_number,
                        measure_type: *measure_type,
                        department: department.clone(),
                        amount_fen: *amount_fen,
                        start_date: *start_date,
                        end_date: *end_date,
                        risk_types: risk_types.clone(),
                        before_approval: *before_approval,
                        percent: 0,
                        completed_on: None,
                    },
                );
            }
            E::MeasureProgressRecorded {
                measure_id,
                percent,
                ..
            } => {
                if let Some(measure) = self.measures.get_mut(measure_id) {
                    measure.percent = *percent;
                }
            }
            E::MeasureCompleted {
                measure_id,
                completed_on,
                ..
            } => {
                if let Some(measure) = self.measures.get_mut(measure_id) {
                    measure.percent = 100;
                    measure.completed_on = Some(*completed_on);
                }
            }
            E::RemovalProposed { at, .. } => {
                self.removal = Some(RemovalProcedure {
                    proposed_at: *at,
                    steps: VillageSteps::new(RemovalStage::Proposed),
                });
            }
            E::RemovalVerificationRecorded { .. } => {
                if let Some(s) = self.removal_steps() {
                    s.stage = RemovalStage::Verified;
                }
            }
            E::RemovalDemocraticReviewRecorded { result, at, .. } => {
                if let Some(s) = self.removal_steps() {
                    use RemovalStage as S;
                    s.reviewed(S::ReviewApproved, S::ReviewRejected, *result, *at);
                }
            }
            E::RemovalNoticeStarted { start, .. } => {
                if let Some(s) = self.removal_steps() {
                    s.notice_started(RemovalStage::NoticeOpen, *start);
                }
            }
            E::RemovalNoticeClosed { closed_on, .. } => {
                if let Some(s) = self.removal_steps() {
                    s.notice_closed(RemovalStage::NoticeClosed, *closed_on);
                }
            }
            E::RemovalTownshipReviewRecorded { decision, .. } => {
                if let Some(s) = self.removal_steps() {
                    use RemovalStage as S;
                    s.township_decided(S::TownshipApproved, S::Proposed, *decision);
                }
            }
            E::RiskRemovalApproved { at, .. } => {
                if let Some(episode) = self.episodes.last_mut() {
                    episode.removed_at = Some(*at);
                }
                self.removal = None;
                self.status = MonitoringStatus::RiskRemoved;
            }
            E::RemovalWithdrawn { .. } => self.removal = None,
            E::RemovalRolledBack { .. } => {
                if let Some(episode) = self.episodes.last_mut() {
                    episode.removed_at = None;
                    episode.rollbacks = episode.rollbacks.saturating_add(1);
                }
                self.status = MonitoringStatus::Monitored;
            }
            E::AlertLinked { alert_id, .. } => {
                self.open_alerts.insert(*alert_id);
            }
            E::LinkedAlertClosed { alert_id, .. } => {
                self.open_alerts.remove(alert_id);
            }
        }
        self
    }

    /// The notice objections go to: the removal notice if one is open, else the
    /// identification notice if open.
    pub fn open_notice(&self) -> Option<&Notice> {
        let removal = self
            .removal
            .as_ref()
            .map(|r| &r.steps)
            .filter(|s| s.stage == RemovalStage::NoticeOpen)
            .and_then(|s| s.notice.as_ref());
        let identification = self
            .identification
            .as_ref()
            .map(|i| &i.steps)
            .filter(|s| s.stage == IdentificationStage::NoticeOpen)
            .and_then(|s| s.notice.as_ref());
        removal.or(identification)
    }

    fn open_notice_mut(&mut self) -> Option<&mut Notice> {
        if let Some(r) = &mut self.removal
            && r.steps.stage == RemovalStage::NoticeOpen
        {
            return r.steps.notice.as_mut();
        }
        self.identification
            .as_mut()
            .map(|i| &mut i.steps)
            .filter(|s| s.stage == IdentificationStage::NoticeOpen)
            .and_then(|s| s.notice.as_mut())
    }

    fn identification_steps(&mut self) -> Option<&mut VillageSteps<IdentificationStage>> {
        self.identification.as_mut().map(|i| &mut i.steps)
    }

    fn removal_steps(&mut self) -> Option<&mut VillageSteps<RemovalStage>> {
        self.removal.as_mut().map(|r| &mut r.steps)
    }
}
