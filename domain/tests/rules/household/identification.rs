use dixian_domain::Command;
use dixian_domain::actor::{AccessError, Role};
use dixian_domain::calendar::add_days;
use dixian_domain::decider::Decider;
use dixian_domain::error::{DomainError, ErrorKind, FieldError};
use dixian_domain::household::*;
use dixian_domain::policy::{Policy, PolicyBook, PolicyRules, SetPolicyRules};
use dixian_domain::vocab::*;

use dixian_testkit::household::*;
use dixian_testkit::*;

#[test]
fn applying_without_signed_authorisation_is_refused() {
    let mut cmd = apply(1);
    if let HouseholdCommand::ApplyForMonitoring(ApplyForMonitoring {
        signed_authorisation,
        ..
    }) = &mut cmd.body
    {
        *signed_authorisation = false;
    }
    let err = given(&Story::registered().events).when(cmd).then_err();
    assert_eq!(err, HouseholdError::AuthorisationNotSigned);
    assert_eq!(err.code(), "AUTHORISATION_NOT_SIGNED");
    assert_eq!(err.kind(), ErrorKind::Rule);
}

#[test]
fn an_application_needs_its_signed_form_attached() {
    let mut cmd = apply(1);
    if let HouseholdCommand::ApplyForMonitoring(ApplyForMonitoring { attachments, .. }) =
        &mut cmd.body
    {
        attachments.clear();
    }
    given(&Story::registered().events)
        .when(cmd)
        .then(Err(FieldError::required("attachments").into()));
}

#[test]
fn the_identification_deadline_counts_fifteen_days_from_the_clue() {
    let mut cmd = apply(5);
    if let HouseholdCommand::ApplyForMonitoring(ApplyForMonitoring { clue_found_on, .. }) =
        &mut cmd.body
    {
        *clue_found_on = Some(date_of(2));
    }
    let story = Story::registered().then(cmd);
    assert!(matches!(
        story.last(),
        HouseholdEvent::MonitoringApplied { clue_found_on, due_on, .. }
            if *clue_found_on == date_of(2) && *due_on == date_of(17)
    ));
    assert_eq!(story.state.status, MonitoringStatus::Identifying);
    assert_eq!(story.state.identification_due(), Some(date_of(17)));
    assert!(!story.state.is_identification_overdue(date_of(17)));
    assert!(story.state.is_identification_overdue(date_of(18)));
}

#[test]
fn home_verification_needs_two_distinct_people() {
    let history = Story::registered().then(apply(1)).events;
    given(&history)
        .when(home_verification(2, &[101, 101]))
        .then(Err(HouseholdError::NotEnoughVerifiers {
            required: 2,
            got: 1,
        }));
    let events = given(&history)
        .when(home_verification(2, &[101, 104, 101]))
        .then_ok();
    assert!(matches!(
        &events[0],
        HouseholdEvent::HomeVerificationRecorded { verifier_ids, .. } if verifier_ids.len() == 2
    ));
}

#[test]
fn home_verification_before_any_application_is_refused() {
    given(&Story::registered().events)
        .when(home_verification(2, &[101, 104]))
        .then(Err(HouseholdError::NoIdentificationInProgress));
}

#[test]
fn democratic_review_before_data_comparison_is_out_of_order() {
    let history = Story::registered()
        .then(apply(1))
        .then(home_verification(2, &[101, 104]))
        .events;
    let err = given(&history)
        .when(democratic_review(3, ReviewResult::Approve))
        .then_err();
    assert_eq!(
        err,
        HouseholdError::StepOutOfOrder {
            step: "democratic review",
            stage: "HOME_VERIFIED"
        }
    );
    assert_eq!(err.code(), "STEP_OUT_OF_ORDER");
}

#[test]
fn democratic_review_keeps_its_minutes() {
    let history = Story::registered()
        .then(apply(1))
        .then(home_verification(2, &[101, 104]))
        .then(data_comparison(3))
        .events;
    let mut cmd = democratic_review(4, ReviewResult::Approve);
    if let HouseholdCommand::RecordDemocraticReview(RecordDemocraticReview { minutes, .. }) =
        &mut cmd.body
    {
        minutes.clear();
    }
    given(&history)
        .when(cmd)
        .then(Err(FieldError::required("minutes").into()));
}

#[test]
fn only_the_county_records_the_data_comparison() {
    let history = Story::registered()
        .then(apply(1))
        .then(home_verification(2, &[101, 104]))
        .events;
    let mut cmd = data_comparison(3);
    {
        cmd.actor = township();
    }
    given(&history)
        .when(cmd)
        .then(Err(HouseholdError::Access(AccessError::RoleNotAllowed {
            role: Role::TownshipOfficer,
            action: "record a data comparison",
        })));
}

#[test]
fn a_failed_comparison_must_say_what_it_found() {
    let history = Story::registered()
        .then(apply(1))
        .then(home_verification(2, &[101, 104]))
        .events;
    let cmd = Command::new(
        county(),
        day(3),
        RecordDataComparison {
            passed: false,
            flags: vec![" ".into()],
            notes: String::new(),
        },
    )
    .under(policy());
    given(&history)
        .when(cmd)
        .then(Err(FieldError::required("flags").into()));
}

#[test]
fn a_rejected_democratic_review_blocks_the_notice_until_reviewed_again() {
    let story = Story::registered()
        .then(apply(1))
        .then(home_verification(2, &[101, 104]))
        .then(data_comparison(3))
        .then(democratic_review(4, ReviewResult::Reject));
    given(&story.events)
        .when(start_notice(4))
        .then(Err(HouseholdError::DemocraticReviewRejected));
    let again = story.then(democratic_review(6, ReviewResult::Approve));
    assert_eq!(
        given(&again.events).when(start_notice(6)).then_ok().len(),
        1
    );
}

fn notice_open() -> Story {
    Story::registered()
        .then(apply(1))
        .then(home_verification(2, &[101, 104]))
        .then(data_comparison(3))
        .then(democratic_review(4, ReviewResult::Approve))
        .then(start_notice(4))
}

#[test]
fn a_notice_cannot_start_before_its_review() {
    let history = Story::registered()
        .then(apply(1))
        .then(home_verification(2, &[101, 104]))
        .then(data_comparison(3))
        .then(democratic_review(4, ReviewResult::Approve))
        .events;
    let mut cmd = start_notice(4);
    if let HouseholdCommand::StartPublicNotice(StartPublicNotice { start, .. }) = &mut cmd.body {
        *start = date_of(3);
    }
    let err = given(&history).when(cmd).then_err();
    assert_eq!(err.field(), Some("start"));
}

#[test]
fn public_notice_cannot_close_before_five_days() {
    given(&notice_open().events).when(close_notice(8)).then(Err(
        HouseholdError::NoticePeriodNotElapsed {
            required_days: 5,
            elapsed_days: 4,
        },
    ));
}

#[test]
fn public_notice_closes_after_five_days() {
    let events = given(&notice_open().events).when(close_notice(9)).then_ok();
    assert!(matches!(
        events[0],
        HouseholdEvent::PublicNoticeClosed {
            days: 5,
            objections: 0,
            ..
        }
    ));
}

#[test]
fn an_objection_must_be_reverified_before_the_notice_closes() {
    let objected = notice_open().then(
        Command::new(
            grid_worker(),
            day(6),
            RecordNoticeObjection {
                objection_id: id(70),
                summary: "村民反映其子女在城里有房".into(),
            },
        )
        .under(policy()),
    );
    given(&objected.events).when(close_notice(10)).then(Err(
        HouseholdError::ObjectionNotReverified {
            objection_id: id(70),
        },
    ));
    let reverified = objected.then(
        Command::new(
            township(),
            day(8),
            RecordObjectionReverification {
                objection_id: id(70),
                findings: "子女已分户，房产与本户无关".into(),
                upheld: false,
                attachments: vec![hash(9)],
            },
        )
        .under(policy()),
    );
    assert_eq!(
        given(&reverified.events)
            .when(close_notice(10))
            .then_ok()
            .len(),
        1
    );
    given(&reverified.events)
        .when(
            Command::new(
                township(),
                day(9),
                RecordObjectionReverification {
                    objection_id: id(70),
                    findings: "again".into(),
                    upheld: true,
                    attachments: vec![],
                },
            )
            .under(policy()),
        )
        .then(Err(HouseholdError::ObjectionAlreadyReverified {
            objection_id: id(70),
        }));
}

#[test]
fn objections_need_an_open_notice() {
    given(&Story::registered().then(apply(1)).events)
        .when(
            Command::new(
                grid_worker(),
                day(2),
                RecordNoticeObjection {
                    objection_id: id(71),
                    summary: "异议".into(),
                },
            )
            .under(policy()),
        )
        .then(Err(HouseholdError::NoNoticeOpen));
}

#[test]
fn grid_worker_cannot_approve_inclusion() {
    let mut cmd = approve_inclusion(12, &[RiskType::Illness]);
    {
        cmd.actor = grid_worker();
    }
    given(&Story::township_approved().events)
        .when(cmd)
        .then(Err(HouseholdError::Access(AccessError::RoleNotAllowed {
            role: Role::GridWorker,
            action: "approve inclusion",
        })));
}

#[test]
fn county_approval_before_the_township_review_is_out_of_order() {
    given(&notice_open().then(close_notice(10)).events)
        .when(approve_inclusion(12, &[RiskType::Illness]))
        .then(Err(HouseholdError::StepOutOfOrder {
            step: "county approval",
            stage: "NOTICE_CLOSED",
        }));
}

#[test]
fn a_township_return_sends_the_case_back_to_home_verification() {
    let returned = notice_open()
        .then(close_notice(10))
        .then(township_review(11, TownshipDecision::Return));
    let identification = returned.state.identification.as_ref().unwrap();
    assert_eq!(identification.steps.stage, IdentificationStage::Applied);
    assert_eq!(identification.steps.returns, 1);
    assert!(identification.steps.notice.is_none());
    assert_eq!(
        given(&returned.events)
            .when(home_verification(12, &[101, 104]))
            .then_ok()
            .len(),
        1
    );
}

#[test]
fn a_return_must_give_the_township_opinion() {
    let mut cmd = township_review(11, TownshipDecision::Return);
    if let HouseholdCommand::RecordTownshipReview(RecordTownshipReview { opinion, .. }) =
        &mut cmd.body
    {
        opinion.clear();
    }
    given(&notice_open().then(close_notice(10)).events)
        .when(cmd)
        .then(Err(FieldError::required("opinion").into()));
}

#[test]
fn county_approval_makes_the_household_monitored_as_episode_one() {
    let story = Story::township_approved().then(approve_inclusion(
        12,
        &[RiskType::Illness, RiskType::LackOfLabour, RiskType::Illness],
    ));
    assert!(matches!(
        story.last(),
        HouseholdEvent::InclusionApproved {
            episode_number: 1,
            previous_episode_id: None,
            days_from_clue: 11,
            within_deadline: true,
            ..
        }
    ));
    assert_eq!(story.state.status, MonitoringStatus::Monitored);
    assert!(story.state.identification.is_none());
    let episode = story.state.current_episode().unwrap();
    assert_eq!(
        episode.risk_types,
        vec![RiskType::Illness, RiskType::LackOfLabour]
    );
    assert_eq!(episode.category, Category::Marginal);
}

#[test]
fn approval_needs_at_least_one_risk_type() {
    given(&Story::township_approved().events)
        .when(approve_inclusion(12, &[]))
        .then(Err(FieldError::required("risk_types").into()));
}

#[test]
fn an_ordinary_household_cannot_be_an_unstable_ex_poor_household() {
    given(&Story::township_approved().events)
        .when(approve_inclusion_as(
            12,
            EPISODE,
            Category::UnstableExPoor,
            &[RiskType::Illness],
        ))
        .then(Err(HouseholdError::CategoryMismatch {
            category: Category::UnstableExPoor,
            formerly_poor: false,
        }));
    let sudden = Story::township_approved().then(approve_inclusion_as(
        12,
        EPISODE,
        Category::SuddenSevere,
        &[RiskType::Accident],
    ));
    assert_eq!(sudden.state.status, MonitoringStatus::Monitored);
}

#[test]
fn a_late_identification_is_flagged_not_refused() {
    let story = Story::registered()
        .then(apply(1))
        .then(home_verification(2, &[101, 104]))
        .then(data_comparison(3))
        .then(democratic_review(4, ReviewResult::Approve))
        .then(start_notice(4))
        .then(close_notice(20))
        .then(township_review(21, TownshipDecision::Approve));
    assert!(story.state.is_identification_overdue(date_of(21)));
    let approved = story.then(approve_inclusion(22, &[RiskType::Illness]));
    assert!(matches!(
        approved.last(),
        HouseholdEvent::InclusionApproved {
            within_deadline: false,
            days_from_clue: 21,
            ..
        }
    ));
}

#[test]
fn the_township_may_reject_inclusion_at_any_stage_before_approval() {
    for story in [
        Story::registered().then(apply(1)),
        notice_open(),
        Story::township_approved(),
    ] {
        let rejected = story.then(
            Command::new(
                township(),
                day(12),
                RejectInclusion {
                    reason: "信息比对发现有经营性车辆".into(),
                },
            )
            .under(policy()),
        );
        assert_eq!(rejected.state.status, MonitoringStatus::NotMonitored);
        assert!(rejected.state.identification.is_none());
    }
    given(&Story::monitored().events)
        .when(
            Command::new(county(), day(13), RejectInclusion { reason: "x".into() }).under(policy()),
        )
        .then(Err(HouseholdError::NoIdentificationInProgress));
}

#[test]
fn a_village_secretary_cannot_reject_inclusion() {
    let err = given(&notice_open().events)
        .when(
            Command::new(secretary(), day(5), RejectInclusion { reason: "x".into() })
                .under(policy()),
        )
        .then_err();
    assert_eq!(err.code(), "ROLE_NOT_ALLOWED");
}

#[test]
fn applying_while_monitored_or_identifying_is_refused() {
    given(&Story::monitored().events)
        .when(apply(13))
        .then(Err(HouseholdError::AlreadyMonitored));
    given(&notice_open().events)
        .when(apply(5))
        .then(Err(HouseholdError::IdentificationInProgress));
}

fn green_channel(risk_type: RiskType, at: i64) -> Command<HouseholdCommand> {
    Command::new(
        township(),
        day(at),
        OpenGreenChannel {
            risk_type,
            reason: "房屋因暴雨倒塌".into(),
        },
    )
    .under(policy())
}

#[test]
fn the_green_channel_is_only_for_disaster_or_accident() {
    given(&Story::registered().then(apply(1)).events)
        .when(green_channel(RiskType::Schooling, 1))
        .then(Err(HouseholdError::GreenChannelNotForRisk {
            risk_type: RiskType::Schooling,
        }));
}

#[test]
fn the_green_channel_assists_first_and_is_overdue_if_not_back_filled() {
    let open = Story::registered()
        .then(apply(1))
        .then(green_channel(RiskType::Disaster, 1));
    assert!(matches!(
        open.last(),
        HouseholdEvent::GreenChannelOpened { backfill_due, .. } if *backfill_due == date_of(31)
    ));
    let helped = open.then(create_plan(810, 2)).then(add_measure(
        811,
        &[RiskType::Disaster, RiskType::Housing],
        2,
    ));
    assert!(matches!(
        helped.last(),
        HouseholdEvent::MeasureAdded {
            before_approval: true,
            episode_number: 1,
            ..
        }
    ));
    assert!(!helped.state.is_green_channel_overdue(date_of(31)));
    assert!(helped.state.is_green_channel_overdue(date_of(32)));
    given(&helped.events)
        .when(green_channel(RiskType::Accident, 3))
        .then(Err(HouseholdError::GreenChannelAlreadyOpen));
}

#[test]
fn without_the_green_channel_no_measure_comes_before_approval() {
    given(&notice_open().events)
        .when(create_plan(812, 5))
        .then(Err(HouseholdError::NotMonitored));
}

#[test]
fn a_stricter_notice_applies_to_notices_closed_after_it_takes_effect() {
    let mut events = dixian_domain::policy::shandong_defaults(&county(), day(-400));
    let stricter = Command::new(
        county(),
        day(5),
        SetPolicyRules {
            province: code("37"),
            rules: PolicyRules {
                public_notice_min_days: 7,
                ..PolicyRules::national_2023()
            },
            effective_from: date_of(9),
            basis: "省里新规".into(),
        },
    );
    events.extend(Policy::decide(&stricter, &Policy::replay(&events)).unwrap());
    let book = Policy::replay(&events);
    let close = |at| {
        Command::new(secretary(), day(at), CloseNotice { track: Inclusion }).under(book.clone())
    };
    // Day 9 is judged by the 7-day rule that took effect that day; the notice began on day 4.
    given(&notice_open().events)
        .when(close(9))
        .then(Err(HouseholdError::NoticePeriodNotElapsed {
            required_days: 7,
            elapsed_days: 5,
        }));
    assert_eq!(
        given(&notice_open().events).when(close(11)).then_ok().len(),
        1
    );
}

#[test]
fn a_policy_book_of_another_province_is_refused() {
    let hubei = PolicyBook {
        province: Some(code("42")),
        ..PolicyBook::default()
    };
    let cmd = Command::new(secretary(), day(10), CloseNotice { track: Inclusion }).under(hubei);
    let err = given(&notice_open().events).when(cmd).then_err();
    assert_eq!(err.code(), "POLICY_PROVINCE_MISMATCH");
}

#[test]
fn due_dates_saturate_instead_of_overflowing() {
    assert_eq!(add_days(chrono::NaiveDate::MAX, 15), chrono::NaiveDate::MAX);
}
