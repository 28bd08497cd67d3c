use dixian_domain::Command;
use dixian_domain::error::{FieldError, InputRule};
use dixian_domain::household::*;
use dixian_domain::vocab::*;

use dixian_testkit::household::*;
use dixian_testkit::*;

#[test]
fn measures_need_an_assistance_plan_first() {
    given(&Story::monitored().events)
        .when(add_measure(820, &[RiskType::Illness], 13))
        .then(Err(HouseholdError::PlanRequired));
}

#[test]
fn one_plan_per_episode() {
    given(&Story::assisted().events)
        .when(create_plan(821, 14))
        .then(Err(HouseholdError::PlanAlreadyExists));
}

#[test]
fn a_measure_must_target_the_households_risk_types() {
    let history = Story::monitored().then(create_plan(800, 13)).events;
    given(&history)
        .when(add_measure(
            822,
            &[RiskType::Illness, RiskType::Schooling],
            13,
        ))
        .then(Err(HouseholdError::RiskTypeNotOfHousehold {
            risk_type: RiskType::Schooling,
        }));
    given(&history)
        .when(add_measure(822, &[], 13))
        .then(Err(FieldError::required("risk_types").into()));
}

#[test]
fn a_measure_cannot_end_before_it_starts() {
    let mut cmd = add_measure(823, &[RiskType::Illness], 14);
    if let HouseholdCommand::AddMeasure(AddMeasure {
        start_date,
        end_date,
        ..
    }) = &mut cmd.body
    {
        *end_date = start_date.pred_opt().unwrap();
    }
    given(&Story::assisted().events)
        .when(cmd)
        .then(Err(FieldError::new(
            "end_date",
            InputRule::Before {
                other: "start_date",
            },
        )
        .into()));
}

#[test]
fn a_measure_amount_cannot_be_negative() {
    let mut cmd = add_measure(824, &[RiskType::Illness], 14);
    if let HouseholdCommand::AddMeasure(AddMeasure { amount_fen, .. }) = &mut cmd.body {
        *amount_fen = -1;
    }
    given(&Story::assisted().events)
        .when(cmd)
        .then(Err(FieldError::negative("amount_fen").into()));
}

#[test]
fn assistance_is_for_monitored_households() {
    given(&Story::registered().events)
        .when(create_plan(825, 2))
        .then(Err(HouseholdError::NotMonitored));
}

#[test]
fn a_measure_records_progress_until_completed() {
    let story = Story::assisted()
        .then(
            Command::new(
                cadre(),
                day(40),
                RecordMeasureProgress {
                    measure_id: id(801),
                    progress: "已报销首笔".into(),
                    percent: 40,
                },
            )
            .under(policy()),
        )
        .then(
            Command::new(
                cadre(),
                day(60),
                CompleteMeasure {
                    measure_id: id(801),
                    outcome: "报销完成".into(),
                    completed_on: date_of(60),
                },
            )
            .under(policy()),
        );
    let measure = &story.state.measures[&id(801)];
    assert_eq!(measure.percent, 100);
    assert_eq!(measure.completed_on, Some(date_of(60)));
    given(&story.events)
        .when(
            Command::new(
                cadre(),
                day(61),
                RecordMeasureProgress {
                    measure_id: id(801),
                    progress: "x".into(),
                    percent: 100,
                },
            )
            .under(policy()),
        )
        .then(Err(HouseholdError::MeasureAlreadyCompleted {
            measure_id: id(801),
        }));
}

#[test]
fn progress_above_one_hundred_percent_is_rejected() {
    given(&Story::assisted().events)
        .when(
            Command::new(
                cadre(),
                day(40),
                RecordMeasureProgress {
                    measure_id: id(801),
                    progress: "x".into(),
                    percent: 101,
                },
            )
            .under(policy()),
        )
        .then(Err(FieldError::new(
            "percent",
            InputRule::OutOfRange { min: 0, max: 100 },
        )
        .into()));
}

#[test]
fn progress_on_an_unknown_measure_is_not_found() {
    given(&Story::assisted().events)
        .when(
            Command::new(
                cadre(),
                day(40),
                CompleteMeasure {
                    measure_id: id(899),
                    outcome: "x".into(),
                    completed_on: date_of(40),
                },
            )
            .under(policy()),
        )
        .then(Err(HouseholdError::NotFound {
            record: Record::Measure,
            id: id(899),
        }));
}
