use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use dixian_domain::user::*;
use dixian_domain::{Actor, Command, DomainError, RegionCode, Role};
use dixian_testkit::given::given;

fn county_officer() -> Actor {
    Actor::new(
        Uuid::from_u128(1),
        Role::CountyOfficer,
        RegionCode::parse("370305").unwrap(),
    )
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

fn registered(role: Role, jurisdiction: &str) -> UserEvent {
    UserEvent::UserRegistered {
        user_id: Uuid::from_u128(7),
        name: "王网格".into(),
        role,
        jurisdiction: RegionCode::parse(jurisdiction).unwrap(),
        by: Uuid::from_u128(1),
        at: at(),
    }
}

#[test]
fn a_county_officer_registers_a_grid_worker_in_the_county() {
    given::<User>(&[])
        .when(Command::new(
            county_officer(),
            at(),
            RegisterUser {
                user_id: Uuid::from_u128(7),
                name: " 王网格 ".into(),
                role: Role::GridWorker,
                jurisdiction: RegionCode::parse("370305004201").unwrap(),
            },
        ))
        .then(Ok(vec![registered(Role::GridWorker, "370305004201")]));
}

#[test]
fn nobody_grants_a_jurisdiction_wider_than_their_own() {
    let err = given::<User>(&[])
        .when(Command::new(
            county_officer(),
            at(),
            RegisterUser {
                user_id: Uuid::from_u128(7),
                name: "李".into(),
                role: Role::Auditor,
                jurisdiction: RegionCode::parse("37").unwrap(),
            },
        ))
        .then_err();
    assert_eq!(err.code(), "FORBIDDEN_JURISDICTION");
}

#[test]
fn a_grid_worker_cannot_register_users() {
    let grid = Actor::new(
        Uuid::from_u128(2),
        Role::GridWorker,
        RegionCode::parse("370305004201").unwrap(),
    );
    let err = given::<User>(&[])
        .when(Command::new(
            grid,
            at(),
            RegisterUser {
                user_id: Uuid::from_u128(7),
                name: "李".into(),
                role: Role::GridWorker,
                jurisdiction: RegionCode::parse("370305004201").unwrap(),
            },
        ))
        .then_err();
    assert_eq!(err.code(), "ROLE_NOT_ALLOWED");
}

#[test]
fn only_cadres_are_assigned_and_only_spot_checkers_get_samples() {
    let township = Actor::new(
        Uuid::from_u128(3),
        Role::TownshipOfficer,
        RegionCode::parse("370305004").unwrap(),
    );
    let err = given::<User>(&[registered(Role::GridWorker, "370305004201")])
        .when(Command::new(
            township.clone(),
            at(),
            AssignCadre {
                scope: CadreScope::Village,
                target: "370305004201".into(),
                region: RegionCode::parse("370305004201").unwrap(),
            },
        ))
        .then_err();
    assert_eq!(err, UserError::NotACadre);
    let events = given::<User>(&[registered(Role::Cadre, "370305004")])
        .when(Command::new(
            township,
            at(),
            AssignCadre {
                scope: CadreScope::Village,
                target: "370305004201".into(),
                region: RegionCode::parse("370305004201").unwrap(),
            },
        ))
        .then_ok();
    assert_eq!(events.len(), 1);
    let err = given::<User>(&[registered(Role::Cadre, "370305004")])
        .when(Command::new(
            county_officer(),
            at(),
            GrantSample {
                sample_id: Uuid::from_u128(9),
                region: RegionCode::parse("370305").unwrap(),
                household_ids: vec![],
            },
        ))
        .then_err();
    assert_eq!(err, UserError::NotASpotChecker);
}

#[test]
fn a_deactivated_user_takes_no_more_changes() {
    let deactivated = UserEvent::UserDeactivated {
        reason: "left".into(),
        by: Uuid::from_u128(1),
        at: at(),
    };
    let err = given::<User>(&[registered(Role::Cadre, "370305004"), deactivated])
        .when(Command::new(
            county_officer(),
            at(),
            ChangeRole {
                role: Role::GridWorker,
                jurisdiction: RegionCode::parse("370305004201").unwrap(),
                reason: "moved".into(),
            },
        ))
        .then_err();
    assert_eq!(err, UserError::Deactivated);
}
