//! A village, its people, a calendar and ready-made histories.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use uuid::Uuid;

use crate::actor::{Actor, Role};
use crate::attachment::AttachmentHash;
use crate::calendar::YearMonth;
use crate::decider::Decider;
use crate::household::*;
use crate::policy::{Policy, PolicyBook, shandong_defaults};
use crate::region::RegionCode;
use crate::sealed::Sealed;
use crate::testing;
use crate::vocab::*;

pub const VILLAGE: &str = "370305101201";

pub fn given(events: &[HouseholdEvent]) -> testing::Given<Household> {
    testing::given::<Household>(events)
}

pub fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// A user of each role; the front line sits in the village, officers above it.
pub fn actor(role: Role) -> Actor {
    let (user, jurisdiction) = match role {
        Role::GridWorker => (101, VILLAGE),
        Role::VillageSecretary => (102, VILLAGE),
        Role::Cadre => (103, VILLAGE),
        Role::TownshipOfficer => (104, "370305101"),
        Role::CountyOfficer => (105, "370305"),
        Role::Auditor => (106, "370305"),
        Role::SpotChecker => (107, "370305"),
    };
    Actor::new(id(user), role, code(jurisdiction))
}

pub fn grid_worker() -> Actor {
    actor(Role::GridWorker)
}
pub fn secretary() -> Actor {
    actor(Role::VillageSecretary)
}
pub fn cadre() -> Actor {
    actor(Role::Cadre)
}
pub fn township() -> Actor {
    actor(Role::TownshipOfficer)
}
pub fn county() -> Actor {
    actor(Role::CountyOfficer)
}

/// Day `n` of the story, at 10:00 in China. Day 0 is Wednesday 10 January 2024.
pub fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 10, 2, 0, 0).unwrap() + TimeDelta::days(n)
}

pub fn date_of(n: i64) -> NaiveDate {
    crate::calendar::china_date(day(n))
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn month(s: &str) -> YearMonth {
    YearMonth::parse(s).unwrap()
}

/// Shandong's defaults: 15-day identification, 5-day notice, 6 + 6 months, ¥7,000 line.
pub fn policy() -> PolicyBook {
    Policy::replay(&shandong_defaults(&county(), day(-400)))
}

pub const LINE_FEN: i64 = 700_000;

pub fn hash(n: u8) -> AttachmentHash {
    AttachmentHash::parse(&format!("{n:02x}").repeat(32)).unwrap()
}

pub fn sealed(n: u128) -> Sealed {
    Sealed {
        masked: format!("370305********{:04}", n % 10_000),
        lookup_hash: format!("hash-{n}"),
        ciphertext: format!("cipher-{n}"),
    }
}

pub fn member(n: u128, relation: Relation, labour: LabourCapacity) -> MemberProfile {
    MemberProfile {
        member_id: id(n),
        name: format!("成员{n}"),
        id_number: sealed(n),
        birth_date: date(1975, 3, 1),
        sex: Sex::Male,
        relation,
        health: Health::Healthy,
        disability_level: None,
        labour,
        schooling: Schooling::None,
        employment: Employment::Farming,
        safety_net: SafetyNet::None,
        insurance: Insurance {
            medical: true,
            pension: true,
        },
        phone: None,
        resident: true,
    }
}

pub const HEAD: u128 = 1;
pub const SPOUSE: u128 = 2;

pub fn head() -> MemberProfile {
    member(HEAD, Relation::Head, LabourCapacity::Normal)
}

pub fn register() -> HouseholdCommand {
    register_as(grid_worker(), code(VILLAGE), false)
}

pub fn register_as(actor: Actor, village: RegionCode, formerly_poor: bool) -> HouseholdCommand {
    HouseholdCommand::RegisterHousehold {
        actor,
        at: day(0),
        household_id: id(9000),
        village,
        grid: Some(crate::region::GridId::parse(&format!("{VILLAGE}-2")).unwrap()),
        address: "齐都镇某村3号".into(),
        formerly_poor,
        head: head(),
    }
}

pub fn add_member(
    n: u128,
    relation: Relation,
    labour: LabourCapacity,
    at: i64,
) -> HouseholdCommand {
    HouseholdCommand::AddMember {
        actor: grid_worker(),
        at: day(at),
        member: member(n, relation, labour),
        reason: MemberChangeReason::MarriageIn,
        date: date_of(at),
    }
}

pub fn record_income(n: u128, window_end: &str, total_fen: i64, at: i64) -> HouseholdCommand {
    HouseholdCommand::RecordIncome {
        actor: grid_worker(),
        at: day(at),
        income_id: id(n),
        window_end: month(window_end),
        components: IncomeComponents {
            wage_fen: total_fen,
            ..IncomeComponents::default()
        },
        notes: String::new(),
    }
}

pub fn assess(n: u128, conditions: LivingConditions, at: i64) -> HouseholdCommand {
    HouseholdCommand::AssessLivingConditions {
        actor: grid_worker(),
        at: day(at),
        assessment_id: id(n),
        conditions,
        notes: String::new(),
    }
}

pub fn visit(actor: Actor, kind: VisitKind, n: u128, at: DateTime<Utc>) -> HouseholdCommand {
    HouseholdCommand::RecordVisit {
        actor,
        at,
        visit_id: id(n),
        kind,
        checklist: VisitChecklist {
            wall_materials_checked: true,
            situation_discussed: true,
            living_conditions_checked: true,
        },
        findings: "家中情况稳定".into(),
        attachments: vec![hash(1)],
        alert_id: None,
    }
}

pub fn apply(at: i64) -> HouseholdCommand {
    HouseholdCommand::ApplyForMonitoring {
        actor: grid_worker(),
        at: day(at),
        policy: policy(),
        application_id: id(500 + at as u128),
        signed_authorisation: true,
        clue_found_on: None,
        source_alert: None,
        statement: "户主突发疾病，医疗支出大".into(),
        attachments: vec![hash(2)],
    }
}

pub fn home_verification(at: i64, verifiers: &[u128]) -> HouseholdCommand {
    HouseholdCommand::RecordHomeVerification {
        actor: township(),
        at: day(at),
        policy: policy(),
        verifier_ids: verifiers.iter().map(|n| id(*n)).collect(),
        findings: "入户核实：住院自付费用较高".into(),
        attachments: vec![hash(3)],
    }
}

pub fn data_comparison(at: i64) -> HouseholdCommand {
    HouseholdCommand::RecordDataComparison {
        actor: county(),
        at: day(at),
        passed: true,
        flags: vec![],
        notes: "无车辆、无工商登记".into(),
    }
}

pub fn democratic_review(at: i64, result: ReviewResult) -> HouseholdCommand {
    HouseholdCommand::RecordDemocraticReview {
        actor: secretary(),
        at: day(at),
        minutes: "村民代表会议评议，同意纳入".into(),
        attendees: 11,
        result,
        attachments: vec![hash(4)],
    }
}

pub fn start_notice(at: i64) -> HouseholdCommand {
    HouseholdCommand::StartPublicNotice {
        actor: secretary(),
        at: day(at),
        start: date_of(at),
        attachments: vec![hash(5)],
    }
}

pub fn close_notice(at: i64) -> HouseholdCommand {
    HouseholdCommand::CloseNotice {
        actor: secretary(),
        at: day(at),
        policy: policy(),
    }
}

pub fn township_review(at: i64, decision: TownshipDecision) -> HouseholdCommand {
    HouseholdCommand::RecordTownshipReview {
        actor: township(),
        at: day(at),
        decision,
        opinion: "退回补充核实材料".into(),
    }
}

pub const EPISODE: u128 = 700;

pub fn approve_inclusion(at: i64, risk_types: &[RiskType]) -> HouseholdCommand {
    approve_inclusion_as(at, EPISODE, Category::Marginal, risk_types)
}

pub fn approve_inclusion_as(
    at: i64,
    episode: u128,
    category: Category,
    risk_types: &[RiskType],
) -> HouseholdCommand {
    HouseholdCommand::ApproveInclusion {
        actor: county(),
        at: day(at),
        episode_id: id(episode),
        category,
        risk_types: risk_types.to_vec(),
        baseline_per_capita_fen: 450_000,
        opinion: "同意纳入".into(),
    }
}

pub fn create_plan(n: u128, at: i64) -> HouseholdCommand {
    HouseholdCommand::CreateAssistancePlan {
        actor: secretary(),
        at: day(at),
        plan_id: id(n),
        summary: "医疗救助 + 公益岗位".into(),
        helper_user_id: Some(id(103)),
    }
}

pub fn add_measure(n: u128, risk_types: &[RiskType], at: i64) -> HouseholdCommand {
    HouseholdCommand::AddMeasure {
        actor: secretary(),
        at: day(at),
        measure_id: id(n),
        measure_type: MeasureType::Medical,
        department: "区医保局".into(),
        description: "大病保险二次报销".into(),
        amount_fen: 300_000,
        start_date: date_of(at),
        end_date: date_of(at + 365),
        risk_types: risk_types.to_vec(),
    }
}

pub fn propose_removal(at: i64) -> HouseholdCommand {
    HouseholdCommand::ProposeRemoval {
        actor: secretary(),
        at: day(at),
        policy: policy(),
        reason: "收入稳定超过监测线，医疗费用已解决".into(),
    }
}

pub fn removal_verification(at: i64) -> HouseholdCommand {
    HouseholdCommand::RecordRemovalVerification {
        actor: grid_worker(),
        at: day(at),
        policy: policy(),
        verifier_ids: vec![id(101), id(104)],
        findings: "风险已消除".into(),
        attachments: vec![hash(6)],
    }
}

pub fn removal_review(at: i64, result: ReviewResult) -> HouseholdCommand {
    HouseholdCommand::RecordRemovalDemocraticReview {
        actor: secretary(),
        at: day(at),
        minutes: "评议同意风险消除".into(),
        attendees: 9,
        result,
        attachments: vec![hash(7)],
    }
}

pub fn start_removal_notice(at: i64) -> HouseholdCommand {
    HouseholdCommand::StartRemovalNotice {
        actor: secretary(),
        at: day(at),
        start: date_of(at),
        attachments: vec![],
    }
}

pub fn close_removal_notice(at: i64) -> HouseholdCommand {
    HouseholdCommand::CloseRemovalNotice {
        actor: secretary(),
        at: day(at),
        policy: policy(),
    }
}

pub fn removal_township_review(at: i64, decision: TownshipDecision) -> HouseholdCommand {
    HouseholdCommand::RecordRemovalTownshipReview {
        actor: township(),
        at: day(at),
        decision,
        opinion: "材料不全，退回".into(),
    }
}

pub fn approve_removal(at: i64) -> HouseholdCommand {
    HouseholdCommand::ApproveRemoval {
        actor: county(),
        at: day(at),
        policy: policy(),
        opinion: "同意风险消除".into(),
    }
}

pub fn link_alert(n: u128, at: i64) -> HouseholdCommand {
    HouseholdCommand::LinkAlert {
        actor: grid_worker(),
        at: day(at),
        alert_id: id(n),
    }
}

pub fn close_linked_alert(n: u128, at: i64) -> HouseholdCommand {
    HouseholdCommand::CloseLinkedAlert {
        actor: township(),
        at: day(at),
        alert_id: id(n),
        disposition: Some(StudyDecision::NoRiskDismissed),
    }
}

/// A history built by deciding commands in order; a refused step is a broken fixture.
#[derive(Clone, Default)]
pub struct Story {
    pub events: Vec<HouseholdEvent>,
    pub state: HouseholdState,
}

impl Story {
    #[track_caller]
    pub fn then(mut self, cmd: HouseholdCommand) -> Self {
        match Household::decide(&cmd, &self.state) {
            Ok(events) => {
                for event in events {
                    self.state = self.state.evolve(&event);
                    self.events.push(event);
                }
                self
            }
            Err(error) => panic!("fixture step {} refused: {error}", cmd.action()),
        }
    }

    /// Registered on day 0: a head and a spouse, both able to work.
    pub fn registered() -> Self {
        Self::default().then(register()).then(add_member(
            SPOUSE,
            Relation::Spouse,
            LabourCapacity::Normal,
            0,
        ))
    }

    /// Through every identification step up to the township's approval (day 11).
    pub fn township_approved() -> Self {
        Self::registered()
            .then(apply(1))
            .then(home_verification(2, &[101, 104]))
            .then(data_comparison(3))
            .then(democratic_review(4, ReviewResult::Approve))
            .then(start_notice(4))
            .then(close_notice(10))
            .then(township_review(11, TownshipDecision::Approve))
    }

    /// Monitored from day 12 (22 January 2024) for illness.
    pub fn monitored() -> Self {
        Self::township_approved().then(approve_inclusion(12, &[RiskType::Illness]))
    }

    /// Monitored, with a plan and a measure for the illness risk.
    pub fn assisted() -> Self {
        Self::monitored()
            .then(create_plan(800, 13))
            .then(add_measure(801, &[RiskType::Illness], 13))
    }

    /// On day 200 (28 July 2024): six months monitored, income above the line for the six
    /// windows ending February–July 2024, everything secure. Eligible for removal.
    pub fn eligible() -> Self {
        let mut story = Self::assisted();
        for (i, m) in [
            "2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07",
        ]
        .iter()
        .enumerate()
        {
            story = story.then(record_income(900 + i as u128, m, 2 * 900_000, 200));
        }
        story.then(assess(950, LivingConditions::ALL_SECURE, 200))
    }

    /// Eligible, and the removal procedure through the township's approval (day 209).
    pub fn removal_township_approved() -> Self {
        Self::eligible()
            .then(propose_removal(200))
            .then(removal_verification(201))
            .then(removal_review(202, ReviewResult::Approve))
            .then(start_removal_notice(202))
            .then(close_removal_notice(208))
            .then(removal_township_review(209, TownshipDecision::Approve))
    }

    /// Risk removed on day 210.
    pub fn removed() -> Self {
        Self::removal_township_approved().then(approve_removal(210))
    }

    pub fn last(&self) -> &HouseholdEvent {
        self.events.last().unwrap()
    }
}
