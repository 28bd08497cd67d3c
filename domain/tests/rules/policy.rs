use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use uuid::Uuid;

use dixian_domain::actor::{AccessError, Actor, Role};
use dixian_domain::decider::Decider;
use dixian_domain::error::{DomainError, ErrorKind, FieldError, InputRule};
use dixian_domain::region::RegionCode;
use dixian_testkit::given as testing;

use dixian_domain::Command;
use dixian_domain::policy::*;

fn given(events: &[PolicyEvent]) -> testing::Given<Policy> {
    testing::given::<Policy>(events)
}

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

fn bureau() -> Actor {
    Actor::new(Uuid::from_u128(1), Role::CountyOfficer, code("370305"))
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 2, 1, 0, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn set_line(actor: Actor, amount_fen: i64, effective_from: NaiveDate) -> Command<PolicyCommand> {
    Command::new(
        actor,
        at(),
        SetMonitoringLine {
            province: code("37"),
            year: 2024,
            amount_fen,
            effective_from,
            basis: "test".into(),
        },
    )
}

fn set_rules(rules: PolicyRules, effective_from: NaiveDate) -> Command<PolicyCommand> {
    Command::new(
        bureau(),
        at(),
        SetPolicyRules {
            province: code("37"),
            rules,
            effective_from,
            basis: String::new(),
        },
    )
}

fn line_set(amount_fen: i64, effective_from: NaiveDate) -> PolicyEvent {
    PolicyEvent::MonitoringLineSet {
        province: code("37"),
        year: 2024,
        amount_fen,
        effective_from,
        basis: "test".into(),
        by: bureau(),
        at: at(),
    }
}

#[test]
fn the_county_bureau_sets_a_monitoring_line_from_a_date() {
    given(&[])
        .when(set_line(bureau(), 750_000, date(2024, 1, 1)))
        .then(Ok(vec![line_set(750_000, date(2024, 1, 1))]));
}

#[test]
fn a_grid_worker_cannot_change_policy() {
    let worker = Actor::new(Uuid::from_u128(2), Role::GridWorker, code("370305101201"));
    given(&[])
        .when(set_line(worker, 750_000, date(2024, 1, 1)))
        .then(Err(PolicyError::Access(AccessError::RoleNotAllowed {
            role: Role::GridWorker,
            action: "set the monitoring line",
        })));
}

#[test]
fn a_bureau_of_another_province_is_forbidden() {
    let hubei = Actor::new(Uuid::from_u128(3), Role::CountyOfficer, code("420303"));
    let err = given(&[])
        .when(set_line(hubei, 750_000, date(2024, 1, 1)))
        .then_err();
    assert_eq!(err.code(), "FORBIDDEN_JURISDICTION");
    assert_eq!(err.kind(), ErrorKind::Forbidden);
}

#[test]
fn a_line_that_is_not_positive_is_rejected_naming_the_field() {
    let err = given(&[])
        .when(set_line(bureau(), 0, date(2024, 1, 1)))
        .then_err();
    assert_eq!(
        err,
        PolicyError::Input(FieldError::new("amount_fen", InputRule::NotPositive))
    );
    assert_eq!(err.field(), Some("amount_fen"));
    assert_eq!(err.kind(), ErrorKind::Input);
}

#[test]
fn a_province_cannot_shorten_the_public_notice_below_five_days() {
    let rules = PolicyRules {
        public_notice_min_days: 3,
        ..PolicyRules::national_2023()
    };
    given(&[])
        .when(set_rules(rules, date(2024, 1, 1)))
        .then(Err(PolicyError::BelowNationalFloor {
            rule: "public_notice_min_days",
            value: 3,
            floor: 5,
        }));
}

#[test]
fn a_stricter_province_notice_of_seven_days_is_accepted() {
    let rules = PolicyRules {
        public_notice_min_days: 7,
        ..PolicyRules::national_2023()
    };
    assert_eq!(
        given(&[])
            .when(set_rules(rules, date(2024, 1, 1)))
            .then_ok()
            .len(),
        1
    );
}

#[test]
fn the_rules_in_force_are_the_latest_effective_on_or_before_the_date() {
    let strict = PolicyRules {
        public_notice_min_days: 7,
        ..PolicyRules::national_2023()
    };
    let events: Vec<PolicyEvent> = [
        set_rules(PolicyRules::national_2023(), date(2023, 1, 1)),
        set_rules(strict, date(2024, 7, 1)),
    ]
    .iter()
    .flat_map(|cmd| Policy::decide(cmd, &PolicyBook::default()).unwrap())
    .collect();
    let book = Policy::replay(&events);
    assert_eq!(
        book.rules_in_force(date(2024, 6, 30))
            .public_notice_min_days,
        5
    );
    assert_eq!(
        book.rules_in_force(date(2024, 7, 1)).public_notice_min_days,
        7
    );
    assert_eq!(
        book.rules_in_force(date(2020, 1, 1)),
        PolicyRules::national_2023()
    );
}

#[test]
fn a_later_entry_for_the_same_date_corrects_the_earlier_one() {
    let book = Policy::replay(&[
        line_set(700_000, date(2024, 1, 1)),
        line_set(720_000, date(2024, 1, 1)),
        line_set(690_000, date(2023, 1, 1)),
    ]);
    assert_eq!(book.monitoring_line(date(2024, 3, 1)), Some(720_000));
    assert_eq!(book.monitoring_line(date(2023, 3, 1)), Some(690_000));
    assert_eq!(book.monitoring_line(date(2022, 12, 31)), None);
}

#[test]
fn a_policy_stream_serves_one_province() {
    let book_events = [line_set(700_000, date(2024, 1, 1))];
    let mut cmd = set_line(bureau(), 700_000, date(2024, 1, 1));
    if let PolicyCommand::SetMonitoringLine(SetMonitoringLine { province, .. }) = &mut cmd.body {
        *province = code("42");
        cmd.actor.jurisdiction = code("42");
    }
    let err = given(&book_events).when(cmd).then_err();
    assert_eq!(err.code(), "POLICY_PROVINCE_MISMATCH");
}

#[test]
fn shandong_defaults_pass_the_policy_rules_and_set_seven_thousand_yuan() {
    let events = shandong_defaults(&bureau(), at());
    let book = Policy::replay(&events);
    let rules = book.rules_in_force(date(2024, 5, 1));
    assert_eq!(rules.identification_deadline_days, 15);
    assert_eq!(rules.public_notice_min_days, 5);
    assert_eq!(rules.removal_min_months_monitored, 6);
    assert_eq!(rules.removal_min_months_income_above_line, 6);
    assert_eq!(book.monitoring_line(date(2025, 5, 1)), Some(700_000));
    assert_eq!(book.province, Some(code(SHANDONG)));
    rules.validate().unwrap();
}

#[test]
fn policy_events_round_trip_through_json_and_read_missing_rules_as_national() {
    for event in shandong_defaults(&bureau(), at()) {
        let json = serde_json::to_string(&event).unwrap();
        assert!(json.contains(&format!("\"type\":\"{}\"", event.event_type())));
        assert_eq!(serde_json::from_str::<PolicyEvent>(&json).unwrap(), event);
    }
    let partial: PolicyRules = serde_json::from_str(r#"{"public_notice_min_days":7}"#).unwrap();
    assert_eq!(partial.public_notice_min_days, 7);
    assert_eq!(partial.identification_deadline_days, 15);
}
