//! Invariants over random command sequences:
//! 1. no sequence removes a household (or proposes its removal) unless an independent
//!    reading of its history says every removal condition held at that moment;
//! 2. replaying the emitted events, after a trip through JSON, gives the live state.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Months, NaiveDate, Utc};
use proptest::prelude::*;
use uuid::Uuid;

use dixian_domain::Command;
use dixian_domain::calendar::{YearMonth, china_date};
use dixian_domain::decider::Decider;
use dixian_domain::household::*;
use dixian_domain::vocab::*;
use proptest::strategy::ValueTree;

use dixian_testkit::household::*;
use dixian_testkit::*;

#[derive(Debug, Clone)]
enum Op {
    Wait(u8),
    Advance,
    Income { above: bool },
    CorrectIncome { above: bool },
    Assess { secure: bool },
    Measure { risk: usize },
    LinkAlert,
    CloseAlert,
    Labour { able: bool },
    ReturnCase,
    RejectReview,
    Objection,
    Reverify,
    Withdraw,
    RejectInclusion,
    Rollback,
    GreenChannel,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (1u8..=45).prop_map(Op::Wait),
        12 => Just(Op::Advance),
        6 => prop::bool::weighted(0.9).prop_map(|above| Op::Income { above }),
        1 => any::<bool>().prop_map(|above| Op::CorrectIncome { above }),
        2 => prop::bool::weighted(0.85).prop_map(|secure| Op::Assess { secure }),
        4 => (0usize..4).prop_map(|risk| Op::Measure { risk }),
        1 => Just(Op::LinkAlert),
        3 => Just(Op::CloseAlert),
        1 => prop::bool::weighted(0.7).prop_map(|able| Op::Labour { able }),
        1 => Just(Op::ReturnCase),
        1 => Just(Op::RejectReview),
        1 => Just(Op::Objection),
        2 => Just(Op::Reverify),
        1 => Just(Op::Withdraw),
        1 => Just(Op::RejectInclusion),
        1 => Just(Op::Rollback),
        1 => Just(Op::GreenChannel),
    ]
}

const RISKS: [RiskType; 4] = [
    RiskType::Illness,
    RiskType::UnstableWork,
    RiskType::Disaster,
    RiskType::Housing,
];

struct Sim {
    story: Story,
    today: i64,
    next: u128,
    next_month: YearMonth,
    removals: u32,
}

impl Sim {
    fn new() -> Self {
        Self {
            story: Story::registered(),
            today: 1,
            next: 10_000,
            next_month: month("2024-01"),
            removals: 0,
        }
    }

    fn fresh(&mut self) -> u128 {
        self.next += 1;
        self.next
    }

    fn state(&self) -> &HouseholdState {
        &self.story.state
    }

    fn command(&mut self, op: &Op) -> Option<Command<HouseholdCommand>> {
        let at = self.today;
        let state = self.state().clone();
        Some(match op {
            Op::Wait(days) => {
                self.today += i64::from(*days);
                return None;
            }
            Op::Advance => self.advance(&state, at),
            Op::Income { above } => {
                let current = YearMonth::of(date_of(at));
                let window = self.next_month.min(current);
                if window == self.next_month {
                    self.next_month = window.next();
                }
                let per_capita = if *above {
                    LINE_FEN + 50_000
                } else {
                    LINE_FEN - 50_000
                };
                record_income(self.fresh(), &window.to_string(), 2 * per_capita, at)
            }
            Op::CorrectIncome { above } => {
                let record = state.incomes.last()?;
                let per_capita = if *above { LINE_FEN + 1 } else { LINE_FEN };
                Command::new(
                    township(),
                    day(at),
                    CorrectIncome {
                        income_id: record.income_id,
                        components: IncomeComponents {
                            wage_fen: per_capita * i64::from(record.resident_members),
                            ..IncomeComponents::default()
                        },
                        reason: "复核".into(),
                    },
                )
                .under(policy())
            }
            Op::Assess { secure } => assess(
                self.fresh(),
                LivingConditions {
                    drinking_water_secure: *secure,
                    ..LivingConditions::ALL_SECURE
                },
                at,
            ),
            Op::Measure { risk } => {
                let episode = state.working_episode_number()?;
                if state.plan_for(episode).is_none() {
                    create_plan(self.fresh(), at)
                } else {
                    add_measure(self.fresh(), &[RISKS[*risk]], at)
                }
            }
            Op::LinkAlert => link_alert(self.fresh(), at),
            Op::CloseAlert => {
                let alert = state.open_alerts.iter().next()?;
                close_linked_alert(alert.as_u128(), at)
            }
            Op::Labour { able } => {
                let labour = if *able {
                    LabourCapacity::Weak
                } else {
                    LabourCapacity::Lost
                };
                let which = if self.next.is_multiple_of(2) {
                    HEAD
                } else {
                    SPOUSE
                };
                let relation = if which == HEAD {
                    Relation::Head
                } else {
                    Relation::Spouse
                };
                Command::new(
                    grid_worker(),
                    day(at),
                    UpdateMember {
                        member: member(which, relation, labour),
                        note: String::new(),
                    },
                )
                .under(policy())
            }
            Op::ReturnCase => {
                if state.removal.is_some() {
                    removal_township_review(at, TownshipDecision::Return)
                } else {
                    township_review(at, TownshipDecision::Return)
                }
            }
            Op::RejectReview => {
                if state.removal.is_some() {
                    removal_review(at, ReviewResult::Reject)
                } else {
                    democratic_review(at, ReviewResult::Reject)
                }
            }
            Op::Objection => Command::new(
                grid_worker(),
                day(at),
                RecordNoticeObjection {
                    objection_id: id(self.fresh()),
                    summary: "异议".into(),
                },
            )
            .under(policy()),
            Op::Reverify => {
                let notice = state.open_notice()?;
                let (objection_id, _) = notice
                    .objections
                    .iter()
                    .find(|(_, o)| o.reverified.is_none())?;
                Command::new(
                    township(),
                    day(at),
                    RecordObjectionReverification {
                        objection_id: *objection_id,
                        findings: "已复核".into(),
                        upheld: false,
                        attachments: vec![],
                    },
                )
                .under(policy())
            }
            Op::Withdraw => Command::new(
                township(),
                day(at),
                WithdrawRemoval {
                    reason: "撤回".into(),
                },
            )
            .under(policy()),
            Op::RejectInclusion => Command::new(
                county(),
                day(at),
                RejectInclusion {
                    reason: "不符合".into(),
                },
            )
            .under(policy()),
            Op::Rollback => Command::new(
                county(),
                day(at),
                RollbackRemoval {
                    reason: "回退".into(),
                },
            )
            .under(policy()),
            Op::GreenChannel => Command::new(
                township(),
                day(at),
                OpenGreenChannel {
                    risk_type: RiskType::Disaster,
                    reason: "受灾".into(),
                },
            )
            .under(policy()),
        })
    }

    /// The natural next step of whatever procedure the household is in.
    fn advance(&mut self, state: &HouseholdState, at: i64) -> Command<HouseholdCommand> {
        if let Some(removal) = &state.removal {
            return match removal.steps.stage {
                RemovalStage::Proposed => removal_verification(at),
                RemovalStage::Verified | RemovalStage::ReviewRejected => {
                    removal_review(at, ReviewResult::Approve)
                }
                RemovalStage::ReviewApproved => start_removal_notice(at),
                RemovalStage::NoticeOpen => close_removal_notice(at),
                RemovalStage::NoticeClosed => {
                    removal_township_review(at, TownshipDecision::Approve)
                }
                RemovalStage::TownshipApproved => approve_removal(at),
            };
        }
        match (&state.identification, state.status) {
            (Some(identification), _) => match identification.steps.stage {
                IdentificationStage::Applied => home_verification(at, &[101, 104]),
                IdentificationStage::HomeVerified => data_comparison(at),
                IdentificationStage::DataCompared | IdentificationStage::ReviewRejected => {
                    democratic_review(at, ReviewResult::Approve)
                }
                IdentificationStage::ReviewApproved => start_notice(at),
                IdentificationStage::NoticeOpen => close_notice(at),
                IdentificationStage::NoticeClosed => township_review(at, TownshipDecision::Approve),
                IdentificationStage::TownshipApproved => {
                    let n = self.fresh();
                    let risks: Vec<RiskType> = RISKS
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i == 0 || (n >> i) & 1 == 1)
                        .map(|(_, r)| *r)
                        .collect();
                    approve_inclusion_as(at, n, Category::Marginal, &risks)
                }
            },
            (None, MonitoringStatus::Monitored) => propose_removal(at),
            (None, _) => {
                let mut cmd = apply(at);
                if let HouseholdCommand::ApplyForMonitoring(ApplyForMonitoring {
                    application_id,
                    ..
                }) = &mut cmd.body
                {
                    *application_id = id(self.fresh());
                }
                cmd
            }
        }
    }

    fn step(&mut self, op: &Op) {
        let Some(cmd) = self.command(op) else { return };
        let checks_removal = matches!(
            cmd.body,
            HouseholdCommand::ProposeRemoval(_) | HouseholdCommand::ApproveRemoval(_)
        );
        let expected = checks_removal.then(|| oracle(&self.story.events, date_of(self.today)));
        let result = Household::decide(&cmd, &self.story.state);
        if let Some(eligible) = expected {
            if result.is_ok() {
                assert!(
                    eligible,
                    "{} succeeded for an ineligible household",
                    cmd.body.action()
                );
            }
            let plain_proposal = matches!(cmd.body, HouseholdCommand::ProposeRemoval(_))
                && self.story.state.status == MonitoringStatus::Monitored
                && self.story.state.removal.is_none();
            if plain_proposal {
                assert_eq!(
                    result.is_ok(),
                    eligible,
                    "proposal disagrees with the oracle"
                );
            }
        }
        if let Ok(events) = result {
            if matches!(cmd.body, HouseholdCommand::ApproveRemoval(_)) {
                self.removals += 1;
            }
            for event in events {
                self.story.state = self.story.state.clone().evolve(&event);
                self.story.events.push(event);
            }
        }
    }
}

/// An independent reading of the removal conditions, straight from the event history.
fn oracle(events: &[HouseholdEvent], today: NaiveDate) -> bool {
    let mut monitored = false;
    let mut identifying = false;
    let mut episodes = 0u32;
    let mut approved_at: Option<DateTime<Utc>> = None;
    let mut risks: BTreeSet<RiskType> = BTreeSet::new();
    let mut measured: BTreeMap<u32, BTreeSet<RiskType>> = BTreeMap::new();
    let mut incomes: Vec<(Uuid, YearMonth, i64)> = Vec::new();
    let mut assessment: Option<(DateTime<Utc>, LivingConditions)> = None;
    let mut alerts: BTreeSet<Uuid> = BTreeSet::new();
    let mut labour: BTreeMap<Uuid, (LabourCapacity, bool)> = BTreeMap::new();
    for event in events {
        match event {
            HouseholdEvent::HouseholdRegistered { head: m, .. }
            | HouseholdEvent::MemberAdded { member: m, .. }
            | HouseholdEvent::MemberUpdated { member: m, .. } => {
                labour.insert(m.member_id, (m.labour, m.resident));
            }
            HouseholdEvent::MemberRemoved { member_id, .. } => {
                labour.remove(member_id);
            }
            HouseholdEvent::MonitoringApplied { .. } => identifying = true,
            HouseholdEvent::InclusionRejected { .. } => identifying = false,
            HouseholdEvent::InclusionApproved { risk_types, at, .. } => {
                identifying = false;
                monitored = true;
                episodes += 1;
                approved_at = Some(*at);
                risks = risk_types.iter().copied().collect();
            }
            HouseholdEvent::RiskRemovalApproved { .. } => monitored = false,
            HouseholdEvent::RemovalRolledBack { .. } => monitored = true,
            HouseholdEvent::MeasureAdded { risk_types, .. } => {
                let episode = if identifying { episodes + 1 } else { episodes };
                measured
                    .entry(episode)
                    .or_default()
                    .extend(risk_types.iter().copied());
            }
            HouseholdEvent::IncomeRecorded {
                income_id,
                window_end,
                per_capita_fen,
                ..
            } => {
                incomes.push((*income_id, *window_end, *per_capita_fen));
            }
            HouseholdEvent::IncomeCorrected {
                income_id,
                per_capita_fen,
                ..
            } => {
                for record in incomes.iter_mut().filter(|r| r.0 == *income_id) {
                    record.2 = *per_capita_fen;
                }
            }
            HouseholdEvent::LivingConditionsAssessed { conditions, at, .. }
                if assessment.is_none_or(|(when, _)| when <= *at) =>
            {
                assessment = Some((*at, *conditions));
            }
            HouseholdEvent::AlertLinked { alert_id, .. } => {
                alerts.insert(*alert_id);
            }
            HouseholdEvent::LinkedAlertClosed { alert_id, .. } => {
                alerts.remove(alert_id);
            }
            _ => {}
        }
    }
    let Some(approved_at) = approved_at.filter(|_| monitored) else {
        return false;
    };
    let six_months = china_date(approved_at)
        .checked_add_months(Months::new(6))
        .unwrap();
    let measured = measured.get(&episodes).cloned().unwrap_or_default();
    let mut per_month: BTreeMap<YearMonth, i64> = BTreeMap::new();
    for (_, window, per_capita) in &incomes {
        per_month.insert(*window, *per_capita);
    }
    let mut stable = 0;
    let mut month = per_month.keys().next_back().copied();
    while let Some(m) = month {
        match per_month.get(&m) {
            Some(pc) if *pc > LINE_FEN && stable < 6 => stable += 1,
            _ => break,
        }
        month = Some(m.previous());
    }
    today >= six_months
        && risks.is_subset(&measured)
        && stable >= 6
        && assessment.is_some_and(|(_, c)| {
            c.food_clothing_secure
                && c.compulsory_education_secure
                && c.basic_medical_secure
                && c.housing_secure
                && c.drinking_water_secure
        })
        && alerts.is_empty()
        && labour.values().any(|(l, resident)| {
            *resident && !matches!(l, LabourCapacity::Lost | LabourCapacity::None)
        })
}

fn run(ops: &[Op]) -> Sim {
    let mut sim = Sim::new();
    for op in ops {
        sim.step(op);
    }
    sim
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn no_command_sequence_removes_a_household_that_fails_a_guard(
        ops in prop::collection::vec(op(), 1..200)
    ) {
        run(&ops);
    }

    #[test]
    fn replaying_the_emitted_events_equals_the_live_state(
        ops in prop::collection::vec(op(), 1..200)
    ) {
        let sim = run(&ops);
        let json = serde_json::to_string(&sim.story.events).unwrap();
        let read: Vec<HouseholdEvent> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&read, &sim.story.events);
        prop_assert_eq!(Household::replay(&read), sim.story.state);
    }
}

/// The generator does reach removals, so property 1 is not vacuous.
#[test]
fn random_histories_do_reach_risk_removal() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = prop::collection::vec(op(), 100..220);
    let mut removals = 0;
    for _ in 0..64 {
        let ops = strategy.new_tree(&mut runner).unwrap().current();
        let sim = run(&ops);
        removals += sim.removals;
    }
    assert!(removals > 0, "no random history reached a removal");
}

#[test]
fn every_household_event_variant_round_trips_through_json() {
    let mut samples: BTreeMap<&'static str, HouseholdEvent> = BTreeMap::new();
    let stories = [
        Story::removed()
            .then(rollback_for_samples())
            .then(link_alert(1, 231))
            .then(close_linked_alert(1, 232)),
        samples_story(),
        Story::eligible().then(propose_removal(200)).then(
            Command::new(
                county(),
                day(201),
                WithdrawRemoval {
                    reason: "材料不足".into(),
                },
            )
            .under(policy()),
        ),
    ];
    for story in stories {
        for event in story.events {
            samples.entry(event.event_type()).or_insert(event);
        }
    }
    let types: BTreeSet<&str> = samples.keys().copied().collect();
    let expected: BTreeSet<&str> = HouseholdEvent::TYPES.iter().copied().collect();
    assert_eq!(types, expected, "every variant has a sample");
    for event in samples.values() {
        let json = serde_json::to_value(event).unwrap();
        assert_eq!(json["type"], event.event_type());
        assert_eq!(
            &serde_json::from_value::<HouseholdEvent>(json).unwrap(),
            event
        );
    }
}

fn rollback_for_samples() -> Command<HouseholdCommand> {
    Command::new(
        county(),
        day(230),
        RollbackRemoval {
            reason: "回退".into(),
        },
    )
    .under(policy())
}

/// The events the removal story does not produce.
fn samples_story() -> Story {
    Story::registered()
        .then(
            Command::new(
                grid_worker(),
                day(1),
                RemoveMember {
                    member_id: id(SPOUSE),
                    reason: MemberChangeReason::MovedOut,
                    date: date_of(1),
                },
            )
            .under(policy()),
        )
        .then(
            Command::new(
                grid_worker(),
                day(1),
                UpdateMember {
                    member: member(HEAD, Relation::Head, LabourCapacity::Weak),
                    note: "年老".into(),
                },
            )
            .under(policy()),
        )
        .then(
            Command::new(
                grid_worker(),
                day(1),
                TagFocusGroup {
                    group: FocusGroup::SuddenDifficulty,
                    reason: "突发大病".into(),
                },
            )
            .under(policy()),
        )
        .then(
            Command::new(
                grid_worker(),
                day(1),
                UntagFocusGroup {
                    group: FocusGroup::SuddenDifficulty,
                    reason: "已纳入监测".into(),
                },
            )
            .under(policy()),
        )
        .then(record_income(20, "2024-01", 500_000, 1))
        .then(
            Command::new(
                township(),
                day(2),
                CorrectIncome {
                    income_id: id(20),
                    components: IncomeComponents {
                        transfer_fen: 600_000,
                        ..IncomeComponents::default()
                    },
                    reason: "补录低保金".into(),
                },
            )
            .under(policy()),
        )
        .then(visit(
            grid_worker(),
            VisitKind::RoutineGridVisit,
            21,
            day(2),
        ))
        .then(
            Command::new(
                grid_worker(),
                day(2),
                CorrectVisitFindings {
                    visit_id: id(21),
                    findings: "更正".into(),
                    reason: "笔误".into(),
                },
            )
            .under(policy()),
        )
        .then(apply(3))
        .then(
            Command::new(
                township(),
                day(3),
                OpenGreenChannel {
                    risk_type: RiskType::Accident,
                    reason: "交通事故".into(),
                },
            )
            .under(policy()),
        )
        .then(create_plan(22, 3))
        .then(add_measure(23, &[RiskType::Accident], 3))
        .then(
            Command::new(
                cadre(),
                day(4),
                RecordMeasureProgress {
                    measure_id: id(23),
                    progress: "进行中".into(),
                    percent: 50,
                },
            )
            .under(policy()),
        )
        .then(
            Command::new(
                cadre(),
                day(5),
                CompleteMeasure {
                    measure_id: id(23),
                    outcome: "完成".into(),
                    completed_on: date_of(5),
                },
            )
            .under(policy()),
        )
        .then(home_verification(4, &[101, 104]))
        .then(data_comparison(4))
        .then(democratic_review(5, ReviewResult::Approve))
        .then(start_notice(5))
        .then(
            Command::new(
                grid_worker(),
                day(6),
                RecordNoticeObjection {
                    objection_id: id(24),
                    summary: "异议".into(),
                },
            )
            .under(policy()),
        )
        .then(
            Command::new(
                township(),
                day(7),
                RecordObjectionReverification {
                    objection_id: id(24),
                    findings: "不成立".into(),
                    upheld: false,
                    attachments: vec![],
                },
            )
            .under(policy()),
        )
        .then(
            Command::new(
                county(),
                day(8),
                RejectInclusion {
                    reason: "评估后不纳入".into(),
                },
            )
            .under(policy()),
        )
        .then(apply(9))
        .then(home_verification(9, &[101, 104]))
        .then(data_comparison(9))
        .then(democratic_review(9, ReviewResult::Approve))
        .then(start_notice(9))
        .then(close_notice(14))
        .then(township_review(14, TownshipDecision::Approve))
        .then(approve_inclusion(15, &[RiskType::Accident]))
        // The plan made under the green channel serves the episode it led to.
        .then(add_measure(26, &[RiskType::Accident], 15))
        .then(
            Command::new(
                grid_worker(),
                day(15),
                UpdateMember {
                    member: member(HEAD, Relation::Head, LabourCapacity::Normal),
                    note: String::new(),
                },
            )
            .under(policy()),
        )
}
