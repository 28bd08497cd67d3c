//! 一户一档 — the household dossier as the API shows it, built by folding the household's
//! stream (so it is exact at any past instant) and shaped for front ends.

use async_graphql::{ComplexObject, Context, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use dixian_domain::household::{HouseholdState, MemberProfile, removal_eligibility_under};
use dixian_domain::policy::PolicyBook;
use dixian_domain::{Role, china_date};
use dixian_store::RecordedEvent;
use std::sync::Arc;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::fold_cache::{Folded, PolicyFold};
use crate::schema::{api, caller};
use crate::vocab::*;

/// Roles that see full ID and phone numbers (every such read is logged).
pub const UNMASKED_READERS: &[Role] = &[
    Role::GridWorker,
    Role::VillageSecretary,
    Role::TownshipOfficer,
    Role::CountyOfficer,
];

/// A household's file as of some instant.
#[derive(SimpleObject)]
#[graphql(complex, name = "Household")]
pub struct Dossier {
    pub id: Uuid,
    /// The stream version this view was folded to.
    pub version: i64,
    /// The village's 12-digit code.
    pub village: String,
    pub grid: Option<String>,
    pub address: String,
    /// 脱贫户 — lifted out of poverty in 2014–2020.
    pub formerly_poor: bool,
    pub registered_at: Option<DateTime<Utc>>,
    /// 监测状态.
    pub status: MonitoringStatusLabel,
    /// The fold this view shows (shared with the fold cache for "now" views).
    #[graphql(skip)]
    pub folded: Arc<Folded<HouseholdState>>,
    #[graphql(skip)]
    pub policy: PolicyFold,
    /// The instant the view describes (now, or the `asOf`/`knownAt` asked for).
    pub as_of: DateTime<Utc>,
}

impl Dossier {
    pub fn new(
        id: Uuid,
        folded: Arc<Folded<HouseholdState>>,
        policy: PolicyFold,
        as_of: DateTime<Utc>,
    ) -> Self {
        let reg = folded.state.registration.as_ref();
        Self {
            id,
            version: folded.version,
            village: reg
                .map(|r| r.village.as_str().to_owned())
                .unwrap_or_default(),
            grid: reg.and_then(|r| r.grid.as_ref().map(|g| g.to_string())),
            address: reg.map(|r| r.address.clone()).unwrap_or_default(),
            formerly_poor: reg.is_some_and(|r| r.formerly_poor),
            registered_at: reg.map(|r| r.registered_at),
            status: folded.state.status.label(),
            folded,
            policy,
            as_of,
        }
    }

    fn today(&self) -> NaiveDate {
        china_date(self.as_of)
    }
}

/// 成员.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Member {
    pub id: Uuid,
    pub name: String,
    /// Masked, e.g. `370305********1234`.
    pub id_number: String,
    pub birth_date: NaiveDate,
    pub sex: SexLabel,
    pub relation: RelationLabel,
    pub health: HealthLabel,
    pub disability_level: Option<i32>,
    pub labour: LabourCapacityLabel,
    pub schooling: SchoolingLabel,
    pub employment: EmploymentLabel,
    pub safety_net: SafetyNetLabel,
    pub medical_insurance: bool,
    pub pension_insurance: bool,
    /// Masked phone number.
    pub phone: Option<String>,
    pub resident: bool,
    #[graphql(skip)]
    profile: MemberProfile,
    #[graphql(skip)]
    household_id: Uuid,
}

impl Member {
    fn from(household_id: Uuid, m: &MemberProfile) -> Self {
        Self {
            id: m.member_id,
            name: m.name.clone(),
            id_number: m.id_number.masked.clone(),
            birth_date: m.birth_date,
            sex: m.sex.label(),
            relation: m.relation.label(),
            health: m.health.label(),
            disability_level: m.disability_level.map(i32::from),
            labour: m.labour.label(),
            schooling: m.schooling.label(),
            employment: m.employment.label(),
            safety_net: m.safety_net.label(),
            medical_insurance: m.insurance.medical,
            pension_insurance: m.insurance.pension,
            phone: m.phone.as_ref().map(|p| p.masked.clone()),
            resident: m.resident,
            profile: m.clone(),
            household_id,
        }
    }
}

#[ComplexObject]
impl Member {
    /// The full ID number, for roles whose work needs it; every read is recorded in the
    /// personal-data access log.
    async fn id_number_full(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let caller = caller(ctx)?;
        caller.require_role(UNMASKED_READERS, "read full ID numbers")?;
        log_pii_access(ctx, caller, self.household_id, Some(self.id), "id_number").await?;
        Ok(api(ctx).pii.open(&self.profile.id_number)?)
    }
}

/// Records one unmasked read before the value is returned.
pub async fn log_pii_access(
    ctx: &Context<'_>,
    caller: &Caller,
    household_id: Uuid,
    member_id: Option<Uuid>,
    field: &str,
) -> Result<(), ApiError> {
    let access = dixian_store::audit::PiiAccess {
        user_id: caller.user_id,
        role: caller.role.code(),
        jurisdiction: caller.jurisdiction.as_str(),
        household_id,
        member_id,
        field,
        purpose: "graphql",
    };
    dixian_store::audit::record_pii_access(&api(ctx).pool, &access).await?;
    Ok(())
}

/// A former member (died, married out, moved out).
#[derive(SimpleObject)]
pub struct FormerMember {
    pub id: Uuid,
    pub name: String,
    pub reason: MemberChangeReasonLabel,
    pub date: NaiveDate,
}

#[derive(SimpleObject)]
pub struct FocusGroupTag {
    pub group: FocusGroupLabel,
    pub reason: String,
    pub tagged_at: DateTime<Utc>,
}

/// One 12-month income record (收入), amounts in fen (分).
#[derive(SimpleObject)]
pub struct IncomeRecord {
    pub id: Uuid,
    /// The last month of the 12-month window, `YYYY-MM`.
    pub window_end: String,
    pub wage_fen: i64,
    pub business_fen: i64,
    pub property_fen: i64,
    pub transfer_fen: i64,
    pub total_fen: i64,
    pub resident_members: i32,
    pub per_capita_fen: i64,
    /// Per-capita growth over the previous record, in fen (null for the first).
    pub growth_fen: Option<i64>,
    /// The monitoring line in force for that month, if any.
    pub monitoring_line_fen: Option<i64>,
    pub above_line: Option<bool>,
    pub corrected: bool,
    pub recorded_at: DateTime<Utc>,
}

/// 两不愁三保障 + 饮水安全.
#[derive(SimpleObject)]
pub struct LivingConditionsView {
    pub food_clothing_secure: bool,
    pub compulsory_education_secure: bool,
    pub basic_medical_secure: bool,
    pub housing_secure: bool,
    pub drinking_water_secure: bool,
    pub insecure: Vec<LivingConditionLabel>,
    pub assessed_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct VisitView {
    pub id: Uuid,
    pub kind: VisitKindLabel,
    pub findings: String,
    pub visitor: Uuid,
    pub at: DateTime<Utc>,
    pub alert_id: Option<Uuid>,
    pub corrected: bool,
}

/// 识别纳入 — the identification procedure in progress (or last run).
#[derive(SimpleObject)]
pub struct IdentificationView {
    pub application_id: Uuid,
    pub applied_at: DateTime<Utc>,
    pub clue_found_on: NaiveDate,
    /// The ≤ 15-day deadline.
    pub due_on: NaiveDate,
    pub overdue: bool,
    pub stage: IdentificationStageLabel,
    pub notice_start: Option<NaiveDate>,
    pub notice_closed_on: Option<NaiveDate>,
    pub open_objections: i32,
    pub green_channel_due: Option<NaiveDate>,
    pub green_channel_overdue: bool,
    pub returns: i32,
    pub source_alert: Option<Uuid>,
}

/// An episode of monitoring (监测期).
#[derive(SimpleObject)]
pub struct EpisodeView {
    pub id: Uuid,
    pub number: i32,
    pub previous_episode_id: Option<Uuid>,
    pub category: CategoryLabel,
    pub risk_types: Vec<RiskTypeLabel>,
    pub baseline_per_capita_fen: i64,
    pub approved_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
    pub rollbacks: i32,
}

/// 帮扶措施.
#[derive(SimpleObject)]
pub struct MeasureView {
    pub id: Uuid,
    pub episode_number: i32,
    pub measure_type: MeasureTypeLabel,
    pub department: String,
    pub amount_fen: i64,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub risk_types: Vec<RiskTypeLabel>,
    pub percent: i32,
    pub completed_on: Option<NaiveDate>,
    pub before_approval: bool,
}

#[derive(SimpleObject)]
pub struct PlanView {
    pub id: Uuid,
    pub episode_number: i32,
    pub summary: String,
    pub helper_user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// 风险消除 — the removal procedure in progress.
#[derive(SimpleObject)]
pub struct RemovalView {
    pub proposed_at: DateTime<Utc>,
    pub stage: RemovalStageLabel,
    pub notice_start: Option<NaiveDate>,
    pub returns: i32,
}

/// One entry of the household's timeline: every event with who, when (both times) and where
/// in the log.
#[derive(SimpleObject, Clone)]
pub struct TimelineEntry {
    pub event_type: String,
    pub stream_version: i64,
    pub ledger: String,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub actor_user: String,
    pub actor_role: String,
    pub hash: String,
}

impl From<&RecordedEvent> for TimelineEntry {
    fn from(e: &RecordedEvent) -> Self {
        Self {
            event_type: e.event_type.clone(),
            stream_version: e.stream_version,
            ledger: e.ledger.clone(),
            seq: e.seq,
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
            actor_user: e.actor_user.clone(),
            actor_role: e.actor_role.clone(),
            hash: e.hash_hex(),
        }
    }
}

/// 风险消除条件 — the removal verdict with every reason.
#[derive(SimpleObject)]
pub struct RemovalEligibility {
    pub eligible: bool,
    pub reasons: Vec<IneligibilityReasonView>,
    pub as_of: NaiveDate,
}

#[derive(SimpleObject)]
pub struct IneligibilityReasonView {
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
}

pub fn eligibility(
    state: &HouseholdState,
    policy: &PolicyBook,
    as_of: NaiveDate,
) -> RemovalEligibility {
    let verdict = removal_eligibility_under(state, policy, as_of);
    RemovalEligibility {
        eligible: verdict.eligible,
        reasons: verdict
            .reasons
            .iter()
            .map(|r| IneligibilityReasonView {
                code: r.code().to_owned(),
                message_zh: r.message_zh(),
                message_en: r.message_en(),
            })
            .collect(),
        as_of,
    }
}

#[ComplexObject]
impl Dossier {
    /// The head of household's name.
    async fn head_name(&self) -> Option<String> {
        self.folded.state.head().map(|h| h.name.clone())
    }

    async fn members(&self) -> Vec<Member> {
        self.folded
            .state
            .members
            .values()
            .map(|m| Member::from(self.id, m))
            .collect()
    }

    async fn former_members(&self) -> Vec<FormerMember> {
        self.folded
            .state
            .former_members
            .values()
            .map(|f| FormerMember {
                id: f.profile.member_id,
                name: f.profile.name.clone(),
                reason: f.reason.label(),
                date: f.date,
            })
            .collect()
    }

    async fn focus_groups(&self) -> Vec<FocusGroupTag> {
        self.folded
            .state
            .focus_groups
            .iter()
            .map(|(g, t)| FocusGroupTag {
                group: g.label(),
                reason: t.reason.clone(),
                tagged_at: t.tagged_at,
            })
            .collect()
    }

    /// Income history, oldest first, with growth and the line in force for each window.
    async fn incomes(&self) -> Vec<IncomeRecord> {
        let mut prev: Option<i64> = None;
        self.folded
            .state
            .incomes
            .iter()
            .map(|r| {
                let line = self.policy.state.line_for_month(r.window_end);
                let out = IncomeRecord {
                    id: r.income_id,
                    window_end: r.window_end.to_string(),
                    wage_fen: r.components.wage_fen,
                    business_fen: r.components.business_fen,
                    property_fen: r.components.property_fen,
                    transfer_fen: r.components.transfer_fen,
                    total_fen: r.total_fen,
                    resident_members: i32::try_from(r.resident_members).unwrap_or(i32::MAX),
                    per_capita_fen: r.per_capita_fen,
                    growth_fen: prev.map(|p| r.per_capita_fen - p),
                    monitoring_line_fen: line,
                    above_line: line.map(|l| r.per_capita_fen > l),
                    corrected: r.corrected,
                    recorded_at: r.recorded_at,
                };
                prev = Some(r.per_capita_fen);
                out
            })
            .collect()
    }

    async fn living_conditions(&self) -> Option<LivingConditionsView> {
        self.folded
            .state
            .latest_assessment
            .as_ref()
            .map(|a| LivingConditionsView {
                food_clothing_secure: a.conditions.food_clothing_secure,
                compulsory_education_secure: a.conditions.compulsory_education_secure,
                basic_medical_secure: a.conditions.basic_medical_secure,
                housing_secure: a.conditions.housing_secure,
                drinking_water_secure: a.conditions.drinking_water_secure,
                insecure: a
                    .conditions
                    .insecure()
                    .iter()
                    .map(Labelled::label)
                    .collect(),
                assessed_at: a.at,
            })
    }

    /// Visits, newest first.
    async fn visits(&self) -> Vec<VisitView> {
        let mut v: Vec<VisitView> = self
            .folded
            .state
            .visits
            .values()
            .map(|v| VisitView {
                id: v.visit_id,
                kind: v.kind.label(),
                findings: v.findings.clone(),
                visitor: v.visitor,
                at: v.at,
                alert_id: v.alert_id,
                corrected: v.corrected,
            })
            .collect();
        v.sort_by_key(|visit| std::cmp::Reverse(visit.at));
        v
    }

    async fn identification(&self) -> Option<IdentificationView> {
        let today = self.today();
        self.folded
            .state
            .identification
            .as_ref()
            .map(|i| IdentificationView {
                application_id: i.application_id,
                applied_at: i.applied_at,
                clue_found_on: i.clue_found_on,
                due_on: i.due_on,
                overdue: self.folded.state.status
                    == dixian_domain::household::MonitoringStatus::Identifying
                    && i.is_overdue(today),
                stage: i.steps.stage.label(),
                notice_start: i.steps.notice.as_ref().map(|n| n.start),
                notice_closed_on: i.steps.notice.as_ref().and_then(|n| n.closed_on),
                open_objections: i
                    .steps
                    .notice
                    .as_ref()
                    .map(|n| {
                        n.objections
                            .values()
                            .filter(|o| o.reverified.is_none())
                            .count() as i32
                    })
                    .unwrap_or(0),
                green_channel_due: i.green_channel.as_ref().map(|g| g.backfill_due),
                green_channel_overdue: self.folded.state.status
                    == dixian_domain::household::MonitoringStatus::Identifying
                    && i.green_channel
                        .as_ref()
                        .is_some_and(|g| g.is_overdue(today)),
                returns: i.steps.returns as i32,
                source_alert: i.source_alert,
            })
    }

    async fn episodes(&self) -> Vec<EpisodeView> {
        self.folded
            .state
            .episodes
            .iter()
            .map(|e| EpisodeView {
                id: e.episode_id,
                number: e.number as i32,
                previous_episode_id: e.previous_episode_id,
                category: e.category.label(),
                risk_types: e.risk_types.iter().map(Labelled::label).collect(),
                baseline_per_capita_fen: e.baseline_per_capita_fen,
                approved_at: e.approved_at,
                removed_at: e.removed_at,
                rollbacks: e.rollbacks as i32,
            })
            .collect()
    }

    /// 一户一策 — assistance plans.
    async fn plans(&self) -> Vec<PlanView> {
        self.folded
            .state
            .plans
            .iter()
            .map(|p| PlanView {
                id: p.plan_id,
                episode_number: p.episode_number as i32,
                summary: p.summary.clone(),
                helper_user_id: p.helper_user_id,
                created_at: p.created_at,
            })
            .collect()
    }

    async fn measures(&self) -> Vec<MeasureView> {
        self.folded
            .state
            .measures
            .values()
            .map(|m| MeasureView {
                id: m.measure_id,
                episode_number: m.episode_number as i32,
                measure_type: m.measure_type.label(),
                department: m.department.clone(),
                amount_fen: m.amount_fen,
                start_date: m.start_date,
                end_date: m.end_date,
                risk_types: m.risk_types.iter().map(Labelled::label).collect(),
                percent: i32::from(m.percent),
                completed_on: m.completed_on,
                before_approval: m.before_approval,
            })
            .collect()
    }

    async fn removal(&self) -> Option<RemovalView> {
        self.folded.state.removal.as_ref().map(|r| RemovalView {
            proposed_at: r.proposed_at,
            stage: r.steps.stage.label(),
            notice_start: r.steps.notice.as_ref().map(|n| n.start),
            returns: r.steps.returns as i32,
        })
    }

    /// Alerts about this household still open.
    async fn open_alert_ids(&self) -> Vec<Uuid> {
        self.folded.state.open_alerts.iter().copied().collect()
    }

    /// Whether risk removal is allowed now (as of this view), with every failing reason.
    async fn removal_eligibility(&self) -> RemovalEligibility {
        eligibility(&self.folded.state, &self.policy.state, self.today())
    }

    /// Every event of the file, oldest first.
    async fn timeline(&self) -> &[TimelineEntry] {
        &self.folded.timeline
    }
}
