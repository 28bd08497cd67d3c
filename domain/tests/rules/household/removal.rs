use dixian_domain::Command;
use dixian_domain::actor::Role;
use dixian_domain::calendar::YearMonth;
use dixian_domain::error::{DomainError, ErrorKind};
use dixian_domain::household::*;
use dixian_domain::policy::PolicyRules;
use dixian_domain::vocab::*;

use dixian_testkit::household::*;
use dixian_testkit::*;

#[test]
fn removal_before_six_months_is_rejected_with_every_reason() {
    let err = given(&Story::monitored().events)
        .when(propose_removal(100))
        .then_err();
    assert_eq!(
        err,
        HouseholdError::RemovalNotEligible {
            reasons: vec![
                IneligibilityReason::MonitoredTooShort {
                    required_months: 6,
                    approved_on: date_of(12),
                    eligible_from: date(2024, 7, 22),
                },
                IneligibilityReason::RiskWithoutMeasure {
                    risk_type: RiskType::Illness
                },
                IneligibilityReason::IncomeNotStablyAboveLine {
                    required_months: 6,
                    months_above: 0,
                    latest_month: None,
                },
                IneligibilityReason::LivingConditionsNotAssessed,
            ],
        }
    );
    assert_eq!(err.code(), "REMOVAL_NOT_ELIGIBLE");
    assert_eq!(err.kind(), ErrorKind::Rule);
    assert!(
        err.to_string()
            .contains("risk type ILLNESS has no assistance measure")
    );
}

#[test]
fn an_eligible_household_can_be_proposed_for_removal() {
    let story = Story::eligible();
    assert!(removal_eligibility_under(&story.state, &policy(), date_of(200)).eligible);
    let proposed = story.then(propose_removal(200));
    assert_eq!(
        proposed.state.removal.as_ref().unwrap().steps.stage,
        RemovalStage::Proposed
    );
}

#[test]
fn six_months_are_counted_from_the_county_approval_date() {
    let state = Story::eligible().state;
    let on = |d| removal_eligibility_under(&state, &policy(), d);
    assert!(!on(date(2024, 7, 21)).eligible);
    assert!(on(date(2024, 7, 22)).eligible);
}

#[test]
fn a_household_without_labour_stays_monitored_under_the_safety_net() {
    let mut history = Story::eligible();
    for (n, relation) in [(HEAD, Relation::Head), (SPOUSE, Relation::Spouse)] {
        history = history.then(
            Command::new(
                grid_worker(),
                day(200),
                UpdateMember {
                    member: member(n, relation, LabourCapacity::Lost),
                    note: "因病丧失劳动力".into(),
                },
            )
            .under(policy()),
        );
    }
    given(&history.events).when(propose_removal(200)).then(Err(
        HouseholdError::RemovalNotEligible {
            reasons: vec![IneligibilityReason::NoLabourCapacity],
        },
    ));
}

#[test]
fn one_weak_worker_is_enough_labour() {
    let story = Story::eligible().then(
        Command::new(
            grid_worker(),
            day(200),
            UpdateMember {
                member: member(SPOUSE, Relation::Spouse, LabourCapacity::None),
                note: String::new(),
            },
        )
        .under(policy()),
    );
    let story = story.then(
        Command::new(
            grid_worker(),
            day(200),
            UpdateMember {
                member: member(HEAD, Relation::Head, LabourCapacity::Weak),
                note: String::new(),
            },
        )
        .under(policy()),
    );
    assert!(removal_eligibility_under(&story.state, &policy(), date_of(200)).eligible);
}

#[test]
fn income_must_be_above_the_line_for_six_consecutive_months() {
    let gap = Story::assisted()
        .then(record_income(900, "2024-01", 2 * 900_000, 200))
        .then(record_income(901, "2024-02", 2 * 900_000, 200))
        .then(record_income(902, "2024-04", 2 * 900_000, 200))
        .then(record_income(903, "2024-05", 2 * 900_000, 200))
        .then(record_income(904, "2024-06", 2 * 900_000, 200))
        .then(record_income(905, "2024-07", 2 * 900_000, 200))
        .then(record_income(906, "2024-03", 2 * 600_000, 200))
        .then(assess(950, LivingConditions::ALL_SECURE, 200));
    let eligibility = removal_eligibility_under(&gap.state, &policy(), date_of(200));
    assert_eq!(
        eligibility.reasons,
        vec![IneligibilityReason::IncomeNotStablyAboveLine {
            required_months: 6,
            months_above: 4,
            latest_month: Some(month("2024-07")),
        }]
    );
}

#[test]
fn income_exactly_at_the_line_is_not_above_it() {
    let mut story = Story::assisted();
    for (i, m) in [
        "2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07",
    ]
    .iter()
    .enumerate()
    {
        story = story.then(record_income(910 + i as u128, m, 2 * LINE_FEN, 200));
    }
    let story = story.then(assess(950, LivingConditions::ALL_SECURE, 200));
    let reasons = removal_eligibility_under(&story.state, &policy(), date_of(200)).reasons;
    assert_eq!(reasons.len(), 1);
    assert_eq!(reasons[0].code(), "INCOME_NOT_STABLY_ABOVE_LINE");
}

#[test]
fn a_corrected_income_record_counts_with_its_corrected_amount() {
    let story = Story::eligible().then(
        Command::new(
            township(),
            day(200),
            CorrectIncome {
                income_id: id(905),
                components: IncomeComponents {
                    wage_fen: 2 * 500_000,
                    ..IncomeComponents::default()
                },
                reason: "核减务工收入".into(),
            },
        )
        .under(policy()),
    );
    let reasons = removal_eligibility_under(&story.state, &policy(), date_of(200)).reasons;
    assert_eq!(reasons[0].code(), "INCOME_NOT_STABLY_ABOVE_LINE");
}

#[test]
fn an_open_alert_blocks_removal_until_closed() {
    let alerted = Story::eligible().then(link_alert(77, 199));
    given(&alerted.events).when(propose_removal(200)).then(Err(
        HouseholdError::RemovalNotEligible {
            reasons: vec![IneligibilityReason::OpenAlerts {
                alert_ids: vec![id(77)],
            }],
        },
    ));
    let closed = alerted.then(close_linked_alert(77, 200));
    assert_eq!(
        given(&closed.events)
            .when(propose_removal(200))
            .then_ok()
            .len(),
        1
    );
}

#[test]
fn an_alert_is_linked_once_and_closed_once() {
    let alerted = Story::registered().then(link_alert(78, 1));
    given(&alerted.events)
        .when(link_alert(78, 2))
        .then(Err(HouseholdError::AlertAlreadyLinked { alert_id: id(78) }));
    let closed = alerted.then(close_linked_alert(78, 3));
    given(&closed.events)
        .when(close_linked_alert(78, 4))
        .then(Err(HouseholdError::NotFound {
            record: Record::Alert,
            id: id(78),
        }));
}

#[test]
fn unsafe_drinking_water_in_the_latest_assessment_blocks_removal() {
    let story = Story::eligible().then(assess(
        951,
        LivingConditions {
            drinking_water_secure: false,
            ..LivingConditions::ALL_SECURE
        },
        200,
    ));
    given(&story.events)
        .when(propose_removal(200))
        .then(Err(HouseholdError::RemovalNotEligible {
            reasons: vec![IneligibilityReason::LivingConditionsNotSecure {
                insecure: vec![LivingCondition::DrinkingWater],
            }],
        }));
}

#[test]
fn an_older_assessment_recorded_late_does_not_replace_the_latest() {
    let story = Story::eligible().then(assess(
        952,
        LivingConditions {
            housing_secure: false,
            ..LivingConditions::ALL_SECURE
        },
        150,
    ));
    assert!(removal_eligibility_under(&story.state, &policy(), date_of(200)).eligible);
}

#[test]
fn removal_goes_through_the_full_procedure_to_risk_removed() {
    let story = Story::removed();
    assert_eq!(story.state.status, MonitoringStatus::RiskRemoved);
    assert!(story.state.removal.is_none());
    assert_eq!(story.state.episodes[0].removed_at, Some(day(210)));
    assert!(matches!(
        story.last(),
        HouseholdEvent::RiskRemovalApproved { episode_id, .. } if *episode_id == id(EPISODE)
    ));
}

#[test]
fn the_county_rechecks_eligibility_at_approval() {
    let alerted = Story::removal_township_approved().then(link_alert(79, 209));
    let err = given(&alerted.events).when(approve_removal(210)).then_err();
    assert_eq!(
        err,
        HouseholdError::RemovalNotEligible {
            reasons: vec![IneligibilityReason::OpenAlerts {
                alert_ids: vec![id(79)]
            }],
        }
    );
}

#[test]
fn approving_a_removal_skipping_its_steps_is_out_of_order() {
    let proposed = Story::eligible().then(propose_removal(200));
    given(&proposed.events)
        .when(approve_removal(201))
        .then(Err(HouseholdError::StepOutOfOrder {
            step: "removal approval",
            stage: "PROPOSED",
        }));
    given(&Story::eligible().events)
        .when(approve_removal(201))
        .then(Err(HouseholdError::NoRemovalInProgress));
}

#[test]
fn removal_verification_needs_two_distinct_people() {
    let mut cmd = removal_verification(201);
    if let HouseholdCommand::RecordRemovalVerification(RecordVerification {
        verifier_ids, ..
    }) = &mut cmd.body
    {
        *verifier_ids = vec![id(101)];
    }
    given(&Story::eligible().then(propose_removal(200)).events)
        .when(cmd)
        .then(Err(HouseholdError::NotEnoughVerifiers {
            required: 2,
            got: 1,
        }));
}

#[test]
fn removal_notice_cannot_close_before_five_days() {
    let open = Story::eligible()
        .then(propose_removal(200))
        .then(removal_verification(201))
        .then(removal_review(202, ReviewResult::Approve))
        .then(start_removal_notice(202));
    given(&open.events)
        .when(close_removal_notice(206))
        .then(Err(HouseholdError::NoticePeriodNotElapsed {
            required_days: 5,
            elapsed_days: 4,
        }));
}

#[test]
fn an_objection_to_a_removal_notice_must_be_reverified() {
    let open = Story::eligible()
        .then(propose_removal(200))
        .then(removal_verification(201))
        .then(removal_review(202, ReviewResult::Approve))
        .then(start_removal_notice(202))
        .then(
            Command::new(
                grid_worker(),
                day(203),
                RecordNoticeObjection {
                    objection_id: id(72),
                    summary: "邻居反映该户仍有大额医疗支出".into(),
                },
            )
            .under(policy()),
        );
    assert_eq!(
        open.state
            .removal
            .as_ref()
            .unwrap()
            .steps
            .notice
            .as_ref()
            .unwrap()
            .objections
            .len(),
        1
    );
    given(&open.events)
        .when(close_removal_notice(208))
        .then(Err(HouseholdError::ObjectionNotReverified {
            objection_id: id(72),
        }));
}

#[test]
fn a_removal_return_goes_back_to_verification() {
    let returned = Story::eligible()
        .then(propose_removal(200))
        .then(removal_verification(201))
        .then(removal_review(202, ReviewResult::Approve))
        .then(start_removal_notice(202))
        .then(close_removal_notice(208))
        .then(removal_township_review(209, TownshipDecision::Return));
    let removal = returned.state.removal.as_ref().unwrap();
    assert_eq!(removal.steps.stage, RemovalStage::Proposed);
    assert_eq!(removal.steps.returns, 1);
}

#[test]
fn a_withdrawn_removal_can_be_proposed_again() {
    let withdrawn = Story::eligible()
        .then(propose_removal(200))
        .then(removal_verification(201))
        .then(removal_review(202, ReviewResult::Reject))
        .then(
            Command::new(
                township(),
                day(203),
                WithdrawRemoval {
                    reason: "民主评议未通过".into(),
                },
            )
            .under(policy()),
        );
    assert!(matches!(
        withdrawn.last(),
        HouseholdEvent::RemovalWithdrawn {
            stage: RemovalStage::ReviewRejected,
            ..
        }
    ));
    assert!(withdrawn.state.removal.is_none());
    assert_eq!(
        given(&withdrawn.events)
            .when(propose_removal(204))
            .then_ok()
            .len(),
        1
    );
}

#[test]
fn only_the_county_approves_a_removal() {
    let mut cmd = approve_removal(210);
    {
        cmd.actor = township();
    }
    let err = given(&Story::removal_township_approved().events)
        .when(cmd)
        .then_err();
    assert_eq!(err.code(), "ROLE_NOT_ALLOWED");
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    assert_eq!(err.kind().graphql_code(), "FORBIDDEN");
}

fn rollback(at: i64) -> Command<HouseholdCommand> {
    Command::new(
        county(),
        day(at),
        RollbackRemoval {
            reason: "回访发现收入不稳定".into(),
        },
    )
    .under(policy())
}

#[test]
fn a_rollback_returns_the_household_to_its_episode() {
    let rolled_back = Story::removed().then(rollback(230));
    assert_eq!(rolled_back.state.status, MonitoringStatus::Monitored);
    let episode = rolled_back.state.current_episode().unwrap();
    assert_eq!(episode.episode_id, id(EPISODE));
    assert_eq!(episode.removed_at, None);
    assert_eq!(episode.rollbacks, 1);
}

#[test]
fn only_a_removed_household_can_be_rolled_back() {
    given(&Story::monitored().events)
        .when(rollback(20))
        .then(Err(HouseholdError::NotRiskRemoved));
}

#[test]
fn re_identification_after_removal_opens_a_new_linked_episode() {
    let reentered = Story::removed()
        .then(apply(300))
        .then(home_verification(301, &[101, 104]))
        .then(data_comparison(302))
        .then(democratic_review(303, ReviewResult::Approve))
        .then(start_notice(303))
        .then(close_notice(309))
        .then(township_review(310, TownshipDecision::Approve));
    assert!(matches!(
        &reentered.events[reentered.events.len() - 7],
        HouseholdEvent::MonitoringApplied { previous_episode_id: Some(prev), .. } if *prev == id(EPISODE)
    ));
    let approved = reentered.then(approve_inclusion_as(
        311,
        701,
        Category::Marginal,
        &[RiskType::Disaster],
    ));
    assert!(matches!(
        approved.last(),
        HouseholdEvent::InclusionApproved { episode_number: 2, previous_episode_id: Some(prev), .. }
            if *prev == id(EPISODE)
    ));
    assert_eq!(approved.state.episodes.len(), 2);
    assert_eq!(approved.state.episodes[0].removed_at, Some(day(210)));
    // The new episode starts its own clock and needs its own measures.
    let reasons = removal_eligibility_under(&approved.state, &policy(), date_of(311)).reasons;
    assert!(reasons.contains(&IneligibilityReason::RiskWithoutMeasure {
        risk_type: RiskType::Disaster
    }));
    assert_eq!(reasons[0].code(), "MONITORED_TOO_SHORT");
}

#[test]
fn a_rejected_reentry_leaves_the_household_removed() {
    let rejected = Story::removed().then(apply(300)).then(
        Command::new(
            township(),
            day(301),
            RejectInclusion {
                reason: "核实无返贫风险".into(),
            },
        )
        .under(policy()),
    );
    assert_eq!(rejected.state.status, MonitoringStatus::RiskRemoved);
}

#[test]
fn a_missing_monitoring_line_is_a_reason_of_its_own() {
    let state = Story::eligible().state;
    let eligibility = removal_eligibility(
        &state,
        &PolicyRules::national_2023(),
        |_| None,
        date_of(200),
    );
    assert_eq!(
        eligibility.reasons,
        vec![
            IneligibilityReason::NoMonitoringLine {
                month: month("2024-07")
            },
            IneligibilityReason::IncomeNotStablyAboveLine {
                required_months: 6,
                months_above: 0,
                latest_month: Some(month("2024-07")),
            },
        ]
    );
}

#[test]
fn the_line_in_force_for_each_month_is_used() {
    let state = Story::eligible().state;
    // A higher line from May on: only February–April stay above it.
    let line = |m: YearMonth| {
        Some(if m >= month("2024-05") {
            1_000_000
        } else {
            LINE_FEN
        })
    };
    let eligibility =
        removal_eligibility(&state, &PolicyRules::national_2023(), line, date_of(200));
    assert_eq!(
        eligibility.reasons,
        vec![IneligibilityReason::IncomeNotStablyAboveLine {
            required_months: 6,
            months_above: 0,
            latest_month: Some(month("2024-07")),
        }]
    );
}

#[test]
fn eligibility_of_a_household_not_monitored_says_so_alone() {
    let eligibility = removal_eligibility_under(&Story::registered().state, &policy(), date_of(5));
    assert!(!eligibility.eligible);
    assert_eq!(eligibility.reasons, vec![IneligibilityReason::NotMonitored]);
}

#[test]
fn ineligibility_reasons_serialise_with_their_code_and_speak_chinese() {
    let reasons = [
        IneligibilityReason::NotMonitored,
        IneligibilityReason::MonitoredTooShort {
            required_months: 6,
            approved_on: date(2024, 1, 22),
            eligible_from: date(2024, 7, 22),
        },
        IneligibilityReason::RiskWithoutMeasure {
            risk_type: RiskType::Illness,
        },
        IneligibilityReason::IncomeNotStablyAboveLine {
            required_months: 6,
            months_above: 2,
            latest_month: Some(month("2024-07")),
        },
        IneligibilityReason::NoMonitoringLine {
            month: month("2024-07"),
        },
        IneligibilityReason::LivingConditionsNotAssessed,
        IneligibilityReason::LivingConditionsNotSecure {
            insecure: vec![LivingCondition::Housing],
        },
        IneligibilityReason::OpenAlerts {
            alert_ids: vec![id(1)],
        },
        IneligibilityReason::NoLabourCapacity,
    ];
    for reason in reasons {
        let json = serde_json::to_value(&reason).unwrap();
        assert_eq!(json["code"], reason.code());
        assert_eq!(
            serde_json::from_value::<IneligibilityReason>(json).unwrap(),
            reason
        );
        assert!(!reason.message_zh().is_empty());
        assert!(!reason.message_en().is_empty());
    }
    assert_eq!(
        IneligibilityReason::RiskWithoutMeasure {
            risk_type: RiskType::Illness
        }
        .message_zh(),
        "风险类型“因病”尚未落实帮扶措施"
    );
}

#[test]
fn a_village_secretary_proposes_and_a_grid_worker_does_not() {
    let mut cmd = propose_removal(200);
    {
        cmd.actor = grid_worker();
    }
    let err = given(&Story::eligible().events).when(cmd).then_err();
    assert_eq!(err.code(), "ROLE_NOT_ALLOWED");
    assert!(allowed_roles(&propose_removal(200)).contains(&Role::VillageSecretary));
}
