//! Households: a builder per command (each judged under Shandong's policy, dated by the story's
//! calendar, issued by the role that does it in the village) and [`Story`], the procedure walks.

use chrono::{DateTime, Utc};
use dixian_domain::household::*;
use dixian_domain::vocab::*;
use dixian_domain::{Actor, AttachmentHash, Command, Decider, GridId, RegionCode, Sealed};

use crate::{
    VILLAGE, code, county, date, date_of, day, grid_worker, id, month, policy, secretary, township,
};

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

pub fn register() -> Command<HouseholdCommand> {
    register_as(grid_worker(), code(VILLAGE), false)
}

pub fn register_as(
    actor: Actor,
    village: RegionCode,
    formerly_poor: bool,
) -> Command<HouseholdCommand> {
    Command::new(
        actor,
        day(0),
        RegisterHousehold {
            household_id: id(9000),
            village,
            grid: Some(GridId::parse(&format!("{VILLAGE}-2")).unwrap()),
            address: "齐都镇某村3号".into(),
            formerly_poor,
            head: head(),
        },
    )
    .under(policy())
}

pub fn add_member(
    n: u128,
    relation: Relation,
    labour: LabourCapacity,
    at: i64,
) -> Command<HouseholdCommand> {
    Command::new(
        grid_worker(),
        day(at),
        AddMember {
            member: member(n, relation, labour),
            reason: MemberChangeReason::MarriageIn,
            date: date_of(at),
        },
    )
    .under(policy())
}

pub fn record_income(
    n: u128,
    window_end: &str,
    total_fen: i64,
    at: i64,
) -> Command<HouseholdCommand> {
    Command::new(
        grid_worker(),
        day(at),
        RecordIncome {
            income_id: id(n),
            window_end: month(window_end),
            components: IncomeComponents {
                wage_fen: total_fen,
                ..IncomeComponents::default()
            },
            notes: String::new(),
        },
    )
    .under(policy())
}

pub fn assess(n: u128, conditions: LivingConditions, at: i64) -> Command<HouseholdCommand> {
    Command::new(
        grid_worker(),
        day(at),
        AssessLivingConditions {
            assessment_id: id(n),
            conditions,
            notes: String::new(),
        },
    )
    .under(policy())
}

pub fn visit(
    actor: Actor,
    kind: VisitKind,
    n: u128,
    at: DateTime<Utc>,
) -> Command<HouseholdCommand> {
    Command::new(
        actor,
        at,
        RecordVisit {
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
        },
    )
    .under(policy())
}

pub fn apply(at: i64) -> Command<HouseholdCommand> {
    Command::new(
        grid_worker(),
        day(at),
        ApplyForMonitoring {
            application_id: id(500 + at as u128),
            signed_authorisation: true,
            clue_found_on: None,
            source_alert: None,
            statement: "户主突发疾病，医疗支出大".into(),
            attachments: vec![hash(2)],
        },
    )
    .under(policy())
}

pub fn home_verification(at: i64, verifiers: &[u128]) -> Command<HouseholdCommand> {
    Command::new(
        township(),
        day(at),
        RecordVerification {
            verifier_ids: verifiers.iter().map(|n| id(*n)).collect(),
            findings: "入户核实：住院自付费用较高".into(),
            attachments: vec![hash(3)],
            track: Inclusion,
        },
    )
    .under(policy())
}

pub fn data_comparison(at: i64) -> Command<HouseholdCommand> {
    Command::new(
        county(),
        day(at),
        RecordDataComparison {
            passed: true,
            flags: vec![],
            notes: "无车辆、无工商登记".into(),
        },
    )
    .under(policy())
}

pub fn democratic_review(at: i64, result: ReviewResult) -> Command<HouseholdCommand> {
    Command::new(
        secretary(),
        day(at),
        RecordDemocraticReview {
            minutes: "村民代表会议评议，同意纳入".into(),
            attendees: 11,
            result,
            attachments: vec![hash(4)],
            track: Inclusion,
        },
    )
    .under(policy())
}

pub fn start_notice(at: i64) -> Command<HouseholdCommand> {
    Command::new(
        secretary(),
        day(at),
        StartPublicNotice {
            start: date_of(at),
            attachments: vec![hash(5)],
            track: Inclusion,
        },
    )
    .under(policy())
}

pub fn close_notice(at: i64) -> Command<HouseholdCommand> {
    Command::new(secretary(), day(at), CloseNotice { track: Inclusion }).under(policy())
}

pub fn township_review(at: i64, decision: TownshipDecision) -> Command<HouseholdCommand> {
    Command::new(
        township(),
        day(at),
        RecordTownshipReview {
            decision,
            opinion: "退回补充核实材料".into(),
            track: Inclusion,
        },
    )
    .under(policy())
}

pub const EPISODE: u128 = 700;

pub fn approve_inclusion(at: i64, risk_types: &[RiskType]) -> Command<HouseholdCommand> {
    approve_inclusion_as(at, EPISODE, Category::Marginal, risk_types)
}

pub fn approve_inclusion_as(
    at: i64,
    episode: u128,
    category: Category,
    risk_types: &[RiskType],
) -> Command<HouseholdCommand> {
    Command::new(
        county(),
        day(at),
        ApproveInclusion {
            episode_id: id(episode),
            category,
            risk_types: risk_types.to_vec(),
            baseline_per_capita_fen: 450_000,
            opinion: "同意纳入".into(),
        },
    )
    .under(policy())
}

pub fn create_plan(n: u128, at: i64) -> Command<HouseholdCommand> {
    Command::new(
        secretary(),
        day(at),
        CreateAssistancePlan {
            plan_id: id(n),
            summary: "医疗救助 + 公益岗位".into(),
            helper_user_id: Some(id(103)),
        },
    )
    .under(policy())
}

pub fn add_measure(n: u128, risk_types: &[RiskType], at: i64) -> Command<HouseholdCommand> {
    Command::new(
        secretary(),
        day(at),
        AddMeasure {
            measure_id: id(n),
            measure_type: MeasureType::Medical,
            department: "区医保局".into(),
            description: "大病保险二次报销".into(),
            amount_fen: 300_000,
            start_date: date_of(at),
            end_date: date_of(at + 365),
            risk_types: risk_types.to_vec(),
        },
    )
    .under(policy())
}

pub fn propose_removal(at: i64) -> Command<HouseholdCommand> {
    Command::new(
        secretary(),
        day(at),
        ProposeRemoval {
            reason: "收入稳定超过监测线，医疗费用已解决".into(),
        },
    )
    .under(policy())
}

pub fn removal_verification(at: i64) -> Command<HouseholdCommand> {
    Command::new(
        grid_worker(),
        day(at),
        RecordVerification {
            verifier_ids: vec![id(101), id(104)],
            findings: "风险已消除".into(),
            attachments: vec![hash(6)],
            track: Removal,
        },
    )
    .under(policy())
}

pub fn removal_review(at: i64, result: ReviewResult) -> Command<HouseholdCommand> {
    Command::new(
        secretary(),
        day(at),
        RecordDemocraticReview {
            minutes: "评议同意风险消除".into(),
            attendees: 9,
            result,
            attachments: vec![hash(7)],
            track: Removal,
        },
    )
    .under(policy())
}

pub fn start_removal_notice(at: i64) -> Command<HouseholdCommand> {
    Command::new(
        secretary(),
        day(at),
        StartPublicNotice {
            start: date_of(at),
            attachments: vec![],
            track: Removal,
        },
    )
    .under(policy())
}

pub fn close_removal_notice(at: i64) -> Command<HouseholdCommand> {
    Command::new(secretary(), day(at), CloseNotice { track: Removal }).under(policy())
}

pub fn removal_township_review(at: i64, decision: TownshipDecision) -> Command<HouseholdCommand> {
    Command::new(
        township(),
        day(at),
        RecordTownshipReview {
            decision,
            opinion: "材料不全，退回".into(),
            track: Removal,
        },
    )
    .under(policy())
}

pub fn approve_removal(at: i64) -> Command<HouseholdCommand> {
    Command::new(
        county(),
        day(at),
        ApproveRemoval {
            opinion: "同意风险消除".into(),
        },
    )
    .under(policy())
}

pub fn link_alert(n: u128, at: i64) -> Command<HouseholdCommand> {
    Command::new(grid_worker(), day(at), LinkAlert { alert_id: id(n) }).under(policy())
}

pub fn close_linked_alert(n: u128, at: i64) -> Command<HouseholdCommand> {
    Command::new(
        township(),
        day(at),
        CloseLinkedAlert {
            alert_id: id(n),
            disposition: Some(StudyDecision::NoRiskDismissed),
        },
    )
    .under(policy())
}

/// A history built by deciding commands in order; a refused step is a broken fixture.
#[derive(Clone, Default)]
pub struct Story {
    pub events: Vec<HouseholdEvent>,
    pub state: HouseholdState,
}

impl Story {
    #[track_caller]
    pub fn then(mut self, cmd: Command<HouseholdCommand>) -> Self {
        match Household::decide(&cmd, &self.state) {
            Ok(events) => {
                for event in events {
                    self.state = self.state.evolve(&event);
                    self.events.push(event);
                }
                self
            }
            Err(error) => panic!("fixture step {} refused: {error}", cmd.body.action()),
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

/// The household after `events`, ready for a command.
pub fn given(events: &[HouseholdEvent]) -> crate::Given<Household> {
    crate::given::given::<Household>(events)
}
