use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use uuid::Uuid;

use dixian_domain::actor::{Actor, Role};
use dixian_domain::decider::Decider;
use dixian_domain::error::{DomainError, ErrorKind, FieldError};
use dixian_domain::policy::{Policy, PolicyBook, shandong_defaults};
use dixian_domain::region::RegionCode;
use dixian_domain::vocab::{MeasureType, StudyDecision};
use dixian_testkit::given as testing;

use dixian_domain::Command;
use dixian_domain::alert::*;

const VILLAGE: &str = "370305101201";

fn given(events: &[AlertEvent]) -> testing::Given<Alert> {
    testing::given::<Alert>(events)
}

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn actor(role: Role) -> Actor {
    let jurisdiction = match role {
        Role::GridWorker | Role::VillageSecretary | Role::Cadre => VILLAGE,
        Role::TownshipOfficer => "370305101",
        _ => "370305",
    };
    Actor::new(id(100 + role as u128), role, code(jurisdiction))
}

/// Hour `h` after 09:00 China time on 4 March 2024.
fn hour(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 4, 1, 0, 0).unwrap() + TimeDelta::hours(h)
}

fn policy() -> PolicyBook {
    Policy::replay(&shandong_defaults(
        &actor(Role::CountyOfficer),
        hour(-10_000),
    ))
}

fn raise(alert: u128, household: Option<u128>, trigger: &str) -> Command<AlertCommand> {
    Command::new(
        actor(Role::CountyOfficer),
        hour(0),
        RaiseAlert {
            alert_id: id(alert),
            source: AlertSource::DepartmentData,
            department: Some(Department::MedicalInsurance),
            trigger_code: trigger.into(),
            trigger_text: "住院自付超过2万元".into(),
            severity: Severity::High,
            household_id: household.map(id),
            village: code(VILLAGE),
        },
    )
    .under(policy())
}

fn raised() -> Vec<AlertEvent> {
    Alert::decide(
        &raise(1, Some(9000), "MEDICAL_OUT_OF_POCKET"),
        &AlertState::default(),
    )
    .unwrap()
}

fn first_round(at: DateTime<Utc>) -> Command<AlertCommand> {
    Command::new(
        actor(Role::GridWorker),
        at,
        RecordFirstRoundFeedback {
            findings: "入户核实，确有大额医疗支出".into(),
            risk_confirmed: true,
            visit_id: Some(id(50)),
            attachments: vec![],
        },
    )
}

fn study(decision: StudyDecision, at: DateTime<Utc>) -> Command<AlertCommand> {
    Command::new(
        actor(Role::TownshipOfficer),
        at,
        RecordSecondRoundStudy {
            decision,
            measure: Some(PlannedMeasure {
                measure_type: MeasureType::Medical,
                description: "申请医疗救助".into(),
            }),
            reason: String::new(),
            application: (decision == StudyDecision::StartIdentification).then(application),
        },
    )
}

/// What the household signed, for a study that starts its identification.
fn application() -> StudyApplication {
    StudyApplication {
        signed_authorisation: true,
        statement: "户主住院，申请纳入监测".into(),
        attachments: vec![dixian_domain::AttachmentHash::parse(&"ab".repeat(32)).unwrap()],
    }
}

fn close(at: DateTime<Utc>) -> Command<AlertCommand> {
    Command::new(
        actor(Role::TownshipOfficer),
        at,
        CloseAlert {
            note: "办结".into(),
        },
    )
}

fn escalate(at: DateTime<Utc>) -> Command<AlertCommand> {
    Command::new(
        actor(Role::CountyOfficer),
        at,
        EscalateAlert {
            note: "督办".into(),
        },
    )
}

fn history(cmds: &[Command<AlertCommand>]) -> Vec<AlertEvent> {
    let mut events = raised();
    for cmd in cmds {
        let state = Alert::replay(&events);
        events.extend(Alert::decide(cmd, &state).unwrap());
    }
    events
}

#[test]
fn raising_an_alert_computes_both_deadlines_from_the_policy_in_force() {
    let state = Alert::replay(&raised());
    let alert = state.raised.as_ref().unwrap();
    assert_eq!(alert.first_round_due, hour(3 * 24));
    assert_eq!(alert.second_round_due, hour(7 * 24));
    assert_eq!(state.status(), Some(AlertStatus::AwaitingFirstRound));
    assert_eq!(state.due_at(), Some(hour(72)));
}

#[test]
fn a_department_alert_must_name_its_department() {
    let mut cmd = raise(1, None, "X");
    if let AlertCommand::RaiseAlert(RaiseAlert { department, .. }) = &mut cmd.body {
        *department = None;
    }
    given(&[])
        .when(cmd)
        .then(Err(FieldError::required("department").into()));
}

#[test]
fn a_grid_screening_alert_names_no_department() {
    let mut cmd = raise(1, None, "X");
    if let AlertCommand::RaiseAlert(RaiseAlert { source, .. }) = &mut cmd.body {
        *source = AlertSource::GridScreening;
        cmd.actor = actor(Role::GridWorker);
    }
    let err = given(&[]).when(cmd).then_err();
    assert_eq!(err.field(), Some("department"));
    assert_eq!(err.kind(), ErrorKind::Input);
}

#[test]
fn an_alert_belongs_to_a_village() {
    let mut cmd = raise(1, None, "X");
    if let AlertCommand::RaiseAlert(RaiseAlert { village, .. }) = &mut cmd.body {
        *village = code("370305101");
    }
    let err = given(&[]).when(cmd).then_err();
    assert_eq!(err.code(), "NOT_A_VILLAGE");
}

#[test]
fn an_alert_is_raised_once() {
    given(&raised())
        .when(raise(1, Some(9000), "MEDICAL_OUT_OF_POCKET"))
        .then(Err(AlertError::AlreadyRaised));
}

#[test]
fn steps_on_an_alert_never_raised_are_not_found() {
    let err = given(&[]).when(first_round(hour(1))).then_err();
    assert_eq!(err, AlertError::NotRaised);
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn first_round_feedback_on_time_is_not_late() {
    let events = given(&raised()).when(first_round(hour(72))).then_ok();
    assert!(matches!(
        events[0],
        AlertEvent::FirstRoundFeedbackRecorded { late: false, .. }
    ));
}

#[test]
fn first_round_feedback_after_the_deadline_is_flagged_late_not_refused() {
    let events = given(&raised()).when(first_round(hour(73))).then_ok();
    assert!(matches!(
        events[0],
        AlertEvent::FirstRoundFeedbackRecorded { late: true, .. }
    ));
}

#[test]
fn first_round_feedback_is_recorded_once() {
    given(&history(&[first_round(hour(5))]))
        .when(first_round(hour(6)))
        .then(Err(AlertError::FirstRoundAlreadyRecorded));
}

#[test]
fn the_township_does_not_give_the_village_feedback() {
    let mut cmd = first_round(hour(5));
    {
        cmd.actor = actor(Role::TownshipOfficer);
    }
    assert_eq!(
        given(&raised()).when(cmd).then_err().code(),
        "ROLE_NOT_ALLOWED"
    );
}

#[test]
fn a_spot_checker_cannot_raise_an_alert() {
    let mut cmd = raise(2, None, "X");
    {
        cmd.actor = actor(Role::SpotChecker);
    }
    assert_eq!(given(&[]).when(cmd).then_err().code(), "ROLE_NOT_ALLOWED");
}

#[test]
fn a_township_officer_of_another_township_is_forbidden() {
    let mut cmd = study(StudyDecision::StartIdentification, hour(10));
    {
        cmd.actor.jurisdiction = code("370305102");
    }
    let err = given(&history(&[first_round(hour(5))]))
        .when(cmd)
        .then_err();
    assert_eq!(err.code(), "FORBIDDEN_JURISDICTION");
}

#[test]
fn the_second_round_study_waits_for_the_first_round() {
    given(&raised())
        .when(study(StudyDecision::StartIdentification, hour(5)))
        .then(Err(AlertError::StepOutOfOrder {
            step: "the second-round study",
            status: "AWAITING_FIRST_ROUND",
        }));
}

#[test]
fn dismissing_an_alert_needs_a_reason() {
    let mut cmd = study(StudyDecision::NoRiskDismissed, hour(10));
    if let AlertCommand::RecordSecondRoundStudy(RecordSecondRoundStudy { measure, .. }) =
        &mut cmd.body
    {
        *measure = None;
    }
    given(&history(&[first_round(hour(5))]))
        .when(cmd)
        .then(Err(FieldError::required("reason").into()));
}

#[test]
fn a_study_records_a_measure_or_the_reason_for_none() {
    let mut cmd = study(StudyDecision::StartIdentification, hour(10));
    if let AlertCommand::RecordSecondRoundStudy(RecordSecondRoundStudy { measure, .. }) =
        &mut cmd.body
    {
        *measure = None;
    }
    let err = given(&history(&[first_round(hour(5))]))
        .when(cmd.clone())
        .then_err();
    assert_eq!(err, AlertError::MeasureOrReasonRequired);
    assert_eq!(err.field(), Some("measure"));
    if let AlertCommand::RecordSecondRoundStudy(RecordSecondRoundStudy { reason, .. }) =
        &mut cmd.body
    {
        *reason = "先纳入识别程序再定措施".into();
    }
    assert_eq!(
        given(&history(&[first_round(hour(5))]))
            .when(cmd)
            .then_ok()
            .len(),
        1
    );
}

#[test]
fn a_study_that_starts_identification_opens_identification() {
    let events = given(&history(&[first_round(hour(5))]))
        .when(study(StudyDecision::StartIdentification, hour(200)))
        .then_ok();
    assert!(matches!(
        events[0],
        AlertEvent::SecondRoundStudyRecorded {
            opens_identification: true,
            late: true,
            ..
        }
    ));
}

#[test]
fn adjusting_measures_needs_a_matched_household() {
    let unmatched = Alert::decide(
        &raise(3, None, "MEDICAL_OUT_OF_POCKET"),
        &AlertState::default(),
    )
    .unwrap();
    let mut events = unmatched;
    events.extend(Alert::decide(&first_round(hour(5)), &Alert::replay(&events)).unwrap());
    given(&events)
        .when(study(
            StudyDecision::AlreadyMonitoredAdjustMeasures,
            hour(10),
        ))
        .then(Err(AlertError::HouseholdRequired));
}

#[test]
fn closing_before_the_study_is_out_of_order() {
    let err = given(&history(&[first_round(hour(5))]))
        .when(close(hour(6)))
        .then_err();
    assert_eq!(err.code(), "STEP_OUT_OF_ORDER");
}

#[test]
fn a_closed_alert_records_its_disposition_and_refuses_further_steps() {
    let events = history(&[
        first_round(hour(5)),
        study(StudyDecision::AlreadyMonitoredAdjustMeasures, hour(30)),
        close(hour(31)),
    ]);
    assert!(matches!(
        events.last().unwrap(),
        AlertEvent::AlertClosed {
            disposition: StudyDecision::AlreadyMonitoredAdjustMeasures,
            ..
        }
    ));
    let state = Alert::replay(&events);
    assert_eq!(state.status(), Some(AlertStatus::Closed));
    assert_eq!(
        state.disposition(),
        Some(StudyDecision::AlreadyMonitoredAdjustMeasures)
    );
    assert!(!state.is_overdue(hour(10_000)));
    given(&events)
        .when(close(hour(32)))
        .then(Err(AlertError::Closed));
}

#[test]
fn escalation_is_refused_when_nothing_is_overdue() {
    let err = given(&raised()).when(escalate(hour(72))).then_err();
    assert_eq!(err, AlertError::NothingOverdue);
    assert_eq!(err.code(), "NOTHING_OVERDUE");
}

#[test]
fn an_overdue_round_is_escalated_once() {
    let escalated = history(&[escalate(hour(73))]);
    assert!(matches!(
        escalated.last().unwrap(),
        AlertEvent::AlertEscalated {
            round: AlertRound::FirstRound,
            level: 1,
            ..
        }
    ));
    given(&escalated)
        .when(escalate(hour(80)))
        .then(Err(AlertError::AlreadyEscalated {
            round: AlertRound::FirstRound,
        }));
    let later = history(&[
        escalate(hour(73)),
        first_round(hour(100)),
        escalate(hour(7 * 24 + 1)),
    ]);
    assert!(matches!(
        later.last().unwrap(),
        AlertEvent::AlertEscalated {
            round: AlertRound::SecondRound,
            level: 2,
            ..
        }
    ));
}

#[test]
fn the_due_date_follows_the_round_still_owed() {
    let state = Alert::replay(&history(&[first_round(hour(5))]));
    assert_eq!(state.due_at(), Some(hour(7 * 24)));
    assert!(!state.is_overdue(hour(7 * 24)));
    assert!(state.is_overdue(hour(7 * 24 + 1)));
    assert_eq!(
        state.overdue_round(hour(7 * 24 + 1)),
        Some(AlertRound::SecondRound)
    );
}

fn summary(alert: u128, household: Option<u128>, trigger: &str, h: i64) -> OpenAlertSummary {
    OpenAlertSummary {
        alert_id: id(alert),
        household_id: household.map(id),
        trigger_code: trigger.into(),
        raised_at: hour(h),
    }
}

#[test]
fn a_second_alert_for_the_same_household_and_trigger_is_linked_not_duplicated() {
    let open = [
        summary(1, Some(9000), "MEDICAL_OUT_OF_POCKET", 5),
        summary(2, Some(9000), "medical_out_of_pocket ", 1),
        summary(3, Some(9000), "DROPOUT", 0),
        summary(4, Some(9001), "MEDICAL_OUT_OF_POCKET", 0),
    ];
    let new = raise(10, Some(9000), "MEDICAL_OUT_OF_POCKET");
    assert_eq!(dedup(&open, &new), Dedup::LinkTo(id(2)));
    assert_eq!(
        dedup(&open, &raise(11, Some(9000), "HOUSING_APPRAISAL")),
        Dedup::New
    );
    let report = new.duplicate_report().unwrap();
    let events = given(&raised()).when(report).then_ok();
    assert_eq!(events[0].event_type(), "DuplicateReported");
    assert_eq!(Alert::replay(&[raised(), events].concat()).duplicates, 1);
}

#[test]
fn alerts_without_a_household_are_never_merged() {
    let open = [summary(1, None, "DISASTER", 0)];
    assert_eq!(dedup(&open, &raise(2, None, "DISASTER")), Dedup::New);
}

#[test]
fn a_closed_alert_offers_no_summary_for_deduplication() {
    let open = Alert::replay(&raised());
    assert_eq!(open.summary().unwrap().alert_id, id(1));
    let closed = Alert::replay(&history(&[
        first_round(hour(5)),
        Command::new(
            actor(Role::TownshipOfficer),
            hour(6),
            RecordSecondRoundStudy {
                decision: StudyDecision::NoRiskDismissed,
                measure: None,
                reason: "医疗费用已由大病保险报销，无返贫风险".into(),
                application: None,
            },
        ),
        close(hour(7)),
    ]));
    assert_eq!(closed.summary(), None);
}

#[test]
fn every_alert_event_variant_round_trips_through_json() {
    let mut events = history(&[
        first_round(hour(100)),
        escalate(hour(7 * 24 + 1)),
        study(StudyDecision::StartIdentification, hour(7 * 24 + 2)),
        close(hour(7 * 24 + 3)),
    ]);
    events.insert(
        1,
        Alert::decide(
            &raise(1, Some(9000), "X").duplicate_report().unwrap(),
            &Alert::replay(&raised()),
        )
        .unwrap()
        .remove(0),
    );
    let types: Vec<&str> = events.iter().map(AlertEvent::event_type).collect();
    for expected in AlertEvent::TYPES {
        assert!(types.contains(expected), "{expected}");
    }
    for event in &events {
        let json = serde_json::to_value(event).unwrap();
        assert_eq!(json["type"], event.event_type());
        assert_eq!(&serde_json::from_value::<AlertEvent>(json).unwrap(), event);
    }
}

#[derive(Debug, Clone)]
enum Op {
    Wait(u8),
    FirstRound,
    Study(u8),
    Close,
    Escalate,
    Duplicate,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u8..=72).prop_map(Op::Wait),
        2 => Just(Op::FirstRound),
        2 => (0u8..3).prop_map(Op::Study),
        1 => Just(Op::Close),
        2 => Just(Op::Escalate),
        1 => Just(Op::Duplicate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every alert ends with a recorded disposition, or shows as overdue once its deadlines
    /// have passed: nothing can make an alert quietly disappear.
    #[test]
    fn every_alert_ends_in_a_disposition_or_is_overdue(ops in prop::collection::vec(op(), 0..40)) {
        let mut events = raised();
        let mut h = 0i64;
        for op in ops {
            let cmd = match op {
                Op::Wait(hours) => { h += i64::from(hours); continue; }
                Op::FirstRound => first_round(hour(h)),
                Op::Study(d) => {
                    let decision = StudyDecision::ALL[usize::from(d)];
                    Command::new(actor(Role::TownshipOfficer), hour(h), RecordSecondRoundStudy { decision, measure: None, reason: "研判".into(), application: Some(application()) })
                }
                Op::Close => close(hour(h)),
                Op::Escalate => escalate(hour(h)),
                Op::Duplicate => raise(1, Some(9000), "X").duplicate_report().unwrap(),
            };
            let state = Alert::replay(&events);
            if let Ok(new) = Alert::decide(&cmd, &state) {
                events.extend(new);
            }
        }
        let state = Alert::replay(&events);
        let horizon = hour(h) + TimeDelta::days(8);
        prop_assert!(state.disposition().is_some() || state.is_overdue(horizon));
        if state.status() == Some(AlertStatus::Closed) {
            prop_assert!(state.disposition().is_some());
        }
        let json = serde_json::to_string(&events).unwrap();
        let read: Vec<AlertEvent> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(Alert::replay(&read), state);
    }
}

#[test]
fn an_open_alert_about_a_household_holds_its_deduplication_key_until_it_is_closed() {
    let key = open_alert_key(id(9000), " medical_out_of_pocket ");
    assert_eq!(
        key,
        format!("alert-open/{}/MEDICAL_OUT_OF_POCKET", id(9000)),
        "the key is the household and the trigger as dedup compares them"
    );
    assert_eq!(Alert::unique_keys(&Alert::replay(&raised())), vec![key]);
    let closed = history(&[
        first_round(hour(5)),
        study(StudyDecision::AlreadyMonitoredAdjustMeasures, hour(30)),
        close(hour(31)),
    ]);
    assert!(Alert::unique_keys(&Alert::replay(&closed)).is_empty());
    let unmatched = Alert::decide(&raise(2, None, "X"), &AlertState::default()).unwrap();
    assert!(
        Alert::unique_keys(&Alert::replay(&unmatched)).is_empty(),
        "an alert without a household is never merged, so holds nothing"
    );
}

#[test]
fn a_trigger_code_is_a_code_of_at_most_64_characters() {
    given(&[])
        .when(raise(1, Some(9000), &"X".repeat(65)))
        .then(Err(FieldError::new(
            "trigger_code",
            dixian_domain::error::InputRule::Invalid {
                reason: "a trigger code has at most 64 characters",
            },
        )
        .into()));
    let ok = Alert::decide(
        &raise(1, Some(9000), &"码".repeat(64)),
        &AlertState::default(),
    );
    assert!(ok.is_ok(), "64 characters, not bytes");
}
