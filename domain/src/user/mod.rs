//! Users, their roles, jurisdictions, cadre assignments and spot-check grants (stream
//! `user-<uuid>`). Access is itself event-sourced so that "who could do what, when" is as
//! auditable as the households' files: a token names a user, and what that user may do is
//! the fold of this stream.
//!
//! Rules: a county officer registers users and changes roles within the county (a province-
//! level county officer anywhere in the province); a township officer assigns cadres within
//! the township (包户/包村/包片); a county officer grants spot-check samples to third-party
//! evaluators. Nobody grants a jurisdiction wider than their own.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::actor::{AccessError, Role};
use crate::command::{Aggregate, Command, commands};
use crate::decider::Decider;
use crate::error::{DomainError, ErrorKind, FieldError};
use crate::macros::{events, vocab};
use crate::region::RegionCode;

mod steps;

pub use steps::*;

vocab! {
    /// What a cadre (包建干部) is assigned to.
    pub enum CadreScope {
        Household = "HOUSEHOLD" => "包户",
        Village = "VILLAGE" => "包村",
        Area = "AREA" => "包片",
    }
}

commands! {
    /// What people ask of a user's stream: one arm per step (structs and rules in `steps`).
    pub enum UserCommand for UserState {
        RegisterUser(RegisterUser),
        ChangeRole(ChangeRole),
        AssignCadre(AssignCadre),
        UnassignCadre(UnassignCadre),
        GrantSample(GrantSample),
        DeactivateUser(DeactivateUser),
    }
}

events! {
    /// A fact of a user's stream.
    #[derive(Eq)]
    pub enum UserEvent {
    UserRegistered {
        user_id: Uuid,
        name: String,
        role: Role,
        jurisdiction: RegionCode,
        by: Uuid,
        at: DateTime<Utc>,
    },
    RoleChanged {
        role: Role,
        jurisdiction: RegionCode,
        reason: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    CadreAssigned {
        scope: CadreScope,
        target: String,
        region: RegionCode,
        by: Uuid,
        at: DateTime<Utc>,
    },
    CadreUnassigned {
        scope: CadreScope,
        target: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    SampleGranted {
        sample_id: Uuid,
        region: RegionCode,
        household_ids: Vec<Uuid>,
        by: Uuid,
        at: DateTime<Utc>,
    },
    UserDeactivated {
        reason: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
}
}

/// A user as the log says they are now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserState {
    pub user_id: Option<Uuid>,
    pub name: String,
    pub role: Option<Role>,
    pub jurisdiction: Option<RegionCode>,
    pub active: bool,
    pub assignments: Vec<(CadreScope, String)>,
    pub samples: Vec<(Uuid, Vec<Uuid>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("the user already exists")]
    AlreadyRegistered,
    #[error("no such user")]
    NotFound,
    #[error("the user is deactivated")]
    Deactivated,
    #[error("{0}")]
    Access(#[from] AccessError),
    #[error("{0}")]
    Input(#[from] FieldError),
    #[error("only a cadre can be assigned households, villages or areas")]
    NotACadre,
    #[error("only a spot-checker can be granted samples")]
    NotASpotChecker,
    #[error("that assignment does not exist")]
    NoSuchAssignment,
}

impl DomainError for UserError {
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyRegistered => "USER_ALREADY_REGISTERED",
            Self::NotFound => "USER_NOT_FOUND",
            Self::Deactivated => "USER_DEACTIVATED",
            Self::Access(e) => e.code(),
            Self::Input(e) => e.code(),
            Self::NotACadre => "NOT_A_CADRE",
            Self::NotASpotChecker => "NOT_A_SPOT_CHECKER",
            Self::NoSuchAssignment => "NO_SUCH_ASSIGNMENT",
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::Access(_) => ErrorKind::Forbidden,
            Self::Input(_) => ErrorKind::Input,
            _ => ErrorKind::Rule,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::Input(e) => e.field(),
            _ => None,
        }
    }
}

pub struct User;

impl Aggregate for UserState {
    type Event = UserEvent;
    type Error = UserError;
}

impl Decider for User {
    type Command = Command<UserCommand>;
    type Event = UserEvent;
    type State = UserState;
    type Error = UserError;

    fn decide(cmd: &Command<UserCommand>, state: &UserState) -> Result<Vec<UserEvent>, UserError> {
        cmd.body.decide(&cmd.ctx(state)).map(|event| vec![event])
    }

    fn evolve(mut state: UserState, event: &UserEvent) -> UserState {
        match event {
            UserEvent::UserRegistered {
                user_id,
                name,
                role,
                jurisdiction,
                ..
            } => {
                state.user_id = Some(*user_id);
                state.name = name.clone();
                state.role = Some(*role);
                state.jurisdiction = Some(jurisdiction.clone());
                state.active = true;
            }
            UserEvent::RoleChanged {
                role, jurisdiction, ..
            } => {
                state.role = Some(*role);
                state.jurisdiction = Some(jurisdiction.clone());
            }
            UserEvent::CadreAssigned { scope, target, .. } => {
                state.assignments.push((*scope, target.clone()))
            }
            UserEvent::CadreUnassigned { scope, target, .. } => state
                .assignments
                .retain(|(s, t)| !(s == scope && t == target)),
            UserEvent::SampleGranted {
                sample_id,
                household_ids,
                ..
            } => state.samples.push((*sample_id, household_ids.clone())),
            UserEvent::UserDeactivated { .. } => state.active = false,
        }
        state
    }
}

pub(crate) fn active(state: &UserState) -> Result<(), UserError> {
    match (state.user_id, state.active) {
        (None, _) => Err(UserError::NotFound),
        (Some(_), false) => Err(UserError::Deactivated),
        (Some(_), true) => Ok(()),
    }
}
