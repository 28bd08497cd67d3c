use dixian_domain::Command;
use dixian_domain::actor::{AccessError, Role};
use dixian_domain::decider::Decider;
use dixian_domain::error::{DomainError, ErrorKind, FieldError, InputRule};
use dixian_domain::household::*;
use dixian_domain::vocab::*;

use dixian_testkit::household::*;
use dixian_testkit::*;

#[test]
fn registering_a_household_records_the_head_and_the_village() {
    let events = given(&[]).when(register()).then_ok();
    let state = Household::replay(&events);
    let registration = state.registration.as_ref().unwrap();
    assert_eq!(registration.village, code(VILLAGE));
    assert_eq!(state.head(), Some(&head()));
    assert_eq!(state.status, MonitoringStatus::NotMonitored);
    assert_eq!(events[0].event_type(), "HouseholdRegistered");
}

#[test]
fn registering_twice_is_refused() {
    given(&Story::registered().events)
        .when(register())
        .then(Err(HouseholdError::AlreadyRegistered));
}

#[test]
fn a_household_is_registered_in_a_village_not_a_township() {
    let mut worker = grid_worker();
    worker.jurisdiction = code("370305101");
    given(&[])
        .when(register_as(worker, code("370305101"), false))
        .then(Err(
            FieldError::new("village", InputRule::NotAVillage).into()
        ));
}

#[test]
fn the_grid_must_lie_in_the_households_village() {
    let mut cmd = register();
    if let HouseholdCommand::RegisterHousehold(RegisterHousehold { grid, .. }) = &mut cmd.body {
        *grid = Some(dixian_domain::GridId::parse("370305101202-1").unwrap());
    }
    let err = given(&[]).when(cmd).then_err();
    assert_eq!(err.field(), Some("grid"));
    assert_eq!(err.kind(), ErrorKind::Input);
}

#[test]
fn the_head_must_be_registered_as_head() {
    let mut cmd = register();
    if let HouseholdCommand::RegisterHousehold(RegisterHousehold { head, .. }) = &mut cmd.body {
        head.relation = Relation::Spouse;
    }
    let err = given(&[]).when(cmd).then_err();
    assert_eq!(err.field(), Some("head.relation"));
}

#[test]
fn a_disabled_member_needs_a_disability_level_from_one_to_four() {
    let history = Story::registered().events;
    let mut disabled = member(3, Relation::Child, LabourCapacity::Lost);
    disabled.health = Health::Disabled;
    let add = |m: MemberProfile| {
        Command::new(
            grid_worker(),
            day(1),
            AddMember {
                member: m,
                reason: MemberChangeReason::Birth,
                date: date_of(1),
            },
        )
        .under(policy())
    };
    given(&history)
        .when(add(disabled.clone()))
        .then(Err(FieldError::required("disability_level").into()));
    disabled.disability_level = Some(5);
    given(&history)
        .when(add(disabled.clone()))
        .then(Err(FieldError::new(
            "disability_level",
            InputRule::OutOfRange { min: 1, max: 4 },
        )
        .into()));
    disabled.disability_level = Some(2);
    assert_eq!(given(&history).when(add(disabled)).then_ok().len(), 1);
}

#[test]
fn commands_on_an_unregistered_household_are_not_found() {
    let err = given(&[]).when(apply(1)).then_err();
    assert_eq!(err, HouseholdError::NotRegistered);
    assert_eq!(err.code(), "HOUSEHOLD_NOT_FOUND");
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn actor_outside_jurisdiction_is_forbidden() {
    let mut neighbour = grid_worker();
    neighbour.jurisdiction = code("370305101202");
    let err = given(&Story::registered().events)
        .when(visit(neighbour, VisitKind::RoutineGridVisit, 30, day(2)))
        .then_err();
    assert_eq!(
        err,
        HouseholdError::Access(AccessError::OutsideJurisdiction {
            region: code(VILLAGE),
            jurisdiction: code("370305101202"),
        })
    );
    assert_eq!(err.code(), "FORBIDDEN_JURISDICTION");
    assert_eq!(err.kind(), ErrorKind::Forbidden);
}

#[test]
fn a_grid_worker_cannot_register_outside_the_village() {
    let err = given(&[])
        .when(register_as(grid_worker(), code("370305101202"), false))
        .then_err();
    assert_eq!(err.code(), "FORBIDDEN_JURISDICTION");
}

#[test]
fn auditors_and_spot_checkers_cannot_issue_household_commands() {
    let history = Story::monitored().events;
    for role in [Role::Auditor, Role::SpotChecker] {
        let commands = [
            visit(actor(role), VisitKind::RoutineGridVisit, 31, day(20)),
            Command::new(actor(role), day(20), LinkAlert { alert_id: id(1) }).under(policy()),
            Command::new(actor(role), day(20), RollbackRemoval { reason: "x".into() })
                .under(policy()),
        ];
        for cmd in commands {
            let err = given(&history).when(cmd).then_err();
            assert_eq!(err.code(), "ROLE_NOT_ALLOWED", "{role}");
        }
    }
}

#[test]
fn a_second_head_is_refused() {
    given(&Story::registered().events)
        .when(add_member(3, Relation::Head, LabourCapacity::Normal, 1))
        .then(Err(HouseholdError::HeadAlreadyPresent));
}

#[test]
fn the_same_person_cannot_be_added_twice() {
    let mut again = member(3, Relation::Child, LabourCapacity::Normal);
    again.id_number = sealed(SPOUSE);
    given(&Story::registered().events)
        .when(
            Command::new(
                grid_worker(),
                day(1),
                AddMember {
                    member: again,
                    reason: MemberChangeReason::MovedIn,
                    date: date_of(1),
                },
            )
            .under(policy()),
        )
        .then(Err(HouseholdError::PersonAlreadyMember {
            member_id: id(SPOUSE),
        }));
}

#[test]
fn a_member_cannot_leave_by_birth() {
    let err = given(&Story::registered().events)
        .when(
            Command::new(
                grid_worker(),
                day(1),
                RemoveMember {
                    member_id: id(SPOUSE),
                    reason: MemberChangeReason::Birth,
                    date: date_of(1),
                },
            )
            .under(policy()),
        )
        .then_err();
    assert_eq!(err.field(), Some("reason"));
    assert_eq!(err.code(), "VALUE_NOT_ALLOWED");
}

#[test]
fn a_departed_member_no_longer_counts_for_per_capita_income() {
    let story = Story::registered().then(
        Command::new(
            grid_worker(),
            day(1),
            RemoveMember {
                member_id: id(SPOUSE),
                reason: MemberChangeReason::Death,
                date: date_of(1),
            },
        )
        .under(policy()),
    );
    assert!(story.state.former_members.contains_key(&id(SPOUSE)));
    let events = given(&story.events)
        .when(record_income(40, "2024-01", 900_000, 2))
        .then_ok();
    assert!(matches!(
        events[0],
        HouseholdEvent::IncomeRecorded {
            resident_members: 1,
            per_capita_fen: 900_000,
            ..
        }
    ));
}

#[test]
fn negative_wage_income_is_rejected_naming_the_field() {
    let cmd = Command::new(
        grid_worker(),
        day(2),
        RecordIncome {
            income_id: id(41),
            window_end: month("2024-01"),
            components: IncomeComponents {
                wage_fen: -1,
                business_fen: 500_000,
                property_fen: 0,
                transfer_fen: 0,
            },
            notes: String::new(),
        },
    )
    .under(policy());
    let err = given(&Story::registered().events).when(cmd).then_err();
    assert_eq!(err, HouseholdError::Input(FieldError::negative("wage_fen")));
    assert_eq!(err.field(), Some("wage_fen"));
    assert_eq!(err.code(), "NEGATIVE_NOT_ALLOWED");
    assert_eq!(err.kind().graphql_code(), "BAD_USER_INPUT");
}

#[test]
fn a_business_loss_is_allowed_but_not_a_negative_total() {
    let income = |business_fen| {
        Command::new(
            grid_worker(),
            day(2),
            RecordIncome {
                income_id: id(42),
                window_end: month("2024-01"),
                components: IncomeComponents {
                    wage_fen: 300_000,
                    business_fen,
                    property_fen: 0,
                    transfer_fen: 100_000,
                },
                notes: String::new(),
            },
        )
        .under(policy())
    };
    let history = Story::registered().events;
    let events = given(&history).when(income(-200_000)).then_ok();
    assert!(matches!(
        events[0],
        HouseholdEvent::IncomeRecorded {
            total_fen: 200_000,
            per_capita_fen: 100_000,
            ..
        }
    ));
    given(&history)
        .when(income(-500_000))
        .then(Err(FieldError::negative("total_fen").into()));
}

#[test]
fn only_resident_members_divide_the_income() {
    let mut away = member(3, Relation::Child, LabourCapacity::Normal);
    away.resident = false;
    let story = Story::registered().then(
        Command::new(
            grid_worker(),
            day(1),
            AddMember {
                member: away,
                reason: MemberChangeReason::Birth,
                date: date_of(1),
            },
        )
        .under(policy()),
    );
    let events = given(&story.events)
        .when(record_income(43, "2024-01", 1_000_001, 2))
        .then_ok();
    assert!(matches!(
        events[0],
        HouseholdEvent::IncomeRecorded {
            resident_members: 2,
            per_capita_fen: 500_000,
            ..
        }
    ));
}

#[test]
fn income_for_a_month_not_yet_ended_in_the_future_is_rejected() {
    given(&Story::registered().events)
        .when(record_income(44, "2024-02", 100, 2))
        .then(Err(FieldError::in_future("window_end").into()));
}

#[test]
fn cadre_visit_in_an_odd_month_is_rejected() {
    given(&Story::registered().events)
        .when(visit(cadre(), VisitKind::CadreEvenMonthVisit, 50, day(5)))
        .then(Err(HouseholdError::CadreVisitInOddMonth { month: 1 }));
}

#[test]
fn cadre_visit_in_an_even_month_is_recorded_with_its_checklist() {
    let events = given(&Story::registered().events)
        .when(visit(cadre(), VisitKind::CadreEvenMonthVisit, 51, day(25)))
        .then_ok();
    let HouseholdEvent::VisitRecorded {
        kind, checklist, ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(*kind, VisitKind::CadreEvenMonthVisit);
    assert!(checklist.wall_materials_checked);
}

#[test]
fn the_even_month_is_judged_on_the_date_in_china() {
    use chrono::TimeZone;
    // 31 January 17:00 UTC is already 1 February in Linzi.
    let at = chrono::Utc.with_ymd_and_hms(2024, 1, 31, 17, 0, 0).unwrap();
    assert_eq!(
        given(&Story::registered().events)
            .when(visit(cadre(), VisitKind::CadreEvenMonthVisit, 52, at))
            .then_ok()
            .len(),
        1
    );
}

#[test]
fn a_grid_worker_does_not_make_the_cadre_round() {
    let err = given(&Story::registered().events)
        .when(visit(
            grid_worker(),
            VisitKind::CadreEvenMonthVisit,
            53,
            day(25),
        ))
        .then_err();
    assert_eq!(err.code(), "ROLE_NOT_ALLOWED");
}

#[test]
fn a_visit_id_is_used_once() {
    let story = Story::registered().then(visit(
        grid_worker(),
        VisitKind::RoutineGridVisit,
        54,
        day(3),
    ));
    given(&story.events)
        .when(visit(
            grid_worker(),
            VisitKind::RoutineGridVisit,
            54,
            day(4),
        ))
        .then(Err(HouseholdError::DuplicateId {
            record: Record::Visit,
            id: id(54),
        }));
}

#[test]
fn tagging_twice_is_refused_and_untagging_needs_a_tag() {
    let tag = |at| {
        Command::new(
            grid_worker(),
            day(at),
            TagFocusGroup {
                group: FocusGroup::ElderlyOrChild,
                reason: "留守儿童".into(),
            },
        )
        .under(policy())
    };
    let untag = Command::new(
        grid_worker(),
        day(3),
        UntagFocusGroup {
            group: FocusGroup::ElderlyOrChild,
            reason: "父母返乡".into(),
        },
    )
    .under(policy());
    let registered = Story::registered();
    given(&registered.events)
        .when(untag.clone())
        .then(Err(HouseholdError::NotTagged {
            group: FocusGroup::ElderlyOrChild,
        }));
    let tagged = registered.then(tag(1));
    assert!(
        tagged
            .state
            .focus_groups
            .contains_key(&FocusGroup::ElderlyOrChild)
    );
    given(&tagged.events)
        .when(tag(2))
        .then(Err(HouseholdError::AlreadyTagged {
            group: FocusGroup::ElderlyOrChild,
        }));
    assert!(tagged.then(untag).state.focus_groups.is_empty());
}

#[test]
fn correcting_income_keeps_the_original_and_records_the_reason() {
    let story = Story::registered().then(record_income(60, "2024-01", 1_000_000, 2));
    let correction = Command::new(
        township(),
        day(3),
        CorrectIncome {
            income_id: id(60),
            components: IncomeComponents {
                wage_fen: 1_200_000,
                ..IncomeComponents::default()
            },
            reason: "漏计务工收入".into(),
        },
    )
    .under(policy());
    let events = given(&story.events).when(correction.clone()).then_ok();
    assert!(matches!(
        &events[0],
        HouseholdEvent::IncomeCorrected { income_id, per_capita_fen: 600_000, reason, .. }
            if *income_id == id(60) && reason == "漏计务工收入"
    ));
    let corrected = story.then(correction);
    let record = &corrected.state.incomes[0];
    assert_eq!(record.per_capita_fen, 600_000);
    assert!(record.corrected);
    assert_eq!(
        corrected.events.len(),
        4,
        "the original record stays in the log"
    );
}

#[test]
fn a_correction_must_name_a_reason_and_an_existing_record() {
    let story = Story::registered().then(record_income(61, "2024-01", 1_000_000, 2));
    let correct = |income_id, reason: &str| {
        Command::new(
            grid_worker(),
            day(3),
            CorrectIncome {
                income_id,
                components: IncomeComponents::default(),
                reason: reason.into(),
            },
        )
        .under(policy())
    };
    given(&story.events)
        .when(correct(id(62), "x"))
        .then(Err(HouseholdError::NotFound {
            record: Record::Income,
            id: id(62),
        }));
    given(&story.events)
        .when(correct(id(61), "  "))
        .then(Err(FieldError::required("reason").into()));
}

#[test]
fn correcting_visit_findings_keeps_the_visit_and_marks_it_corrected() {
    let story = Story::registered()
        .then(visit(
            grid_worker(),
            VisitKind::RoutineGridVisit,
            63,
            day(3),
        ))
        .then(
            Command::new(
                secretary(),
                day(4),
                CorrectVisitFindings {
                    visit_id: id(63),
                    findings: "户主住院，需关注".into(),
                    reason: "录入错误".into(),
                },
            )
            .under(policy()),
        );
    let visit = &story.state.visits[&id(63)];
    assert_eq!(visit.findings, "户主住院，需关注");
    assert!(visit.corrected);
    assert_eq!(visit.visitor, id(101));
}
