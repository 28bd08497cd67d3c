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
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::actor::{AccessError, Actor, Role, authorise};
use crate::decider::Decider;
use crate::error::{DomainError, ErrorKind, FieldError};
use crate::macros::vocab;
use crate::region::RegionCode;

#[cfg(test)]
mod tests;

vocab! {
    /// What a cadre (包建干部) is assigned to.
    pub enum CadreScope {
        Household = "HOUSEHOLD" => "包户",
        Village = "VILLAGE" => "包村",
        Area = "AREA" => "包片",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    RegisterUser {
        actor: Actor,
        at: DateTime<Utc>,
        user_id: Uuid,
        name: String,
        role: Role,
        jurisdiction: RegionCode,
    },
    ChangeRole {
        actor: Actor,
        at: DateTime<Utc>,
        role: Role,
        jurisdiction: RegionCode,
        reason: String,
    },
    /// `target` is a household id (HOUSEHOLD) or a region code (VILLAGE, AREA).
    AssignCadre {
        actor: Actor,
        at: DateTime<Utc>,
        scope: CadreScope,
        target: String,
        region: RegionCode,
    },
    UnassignCadre {
        actor: Actor,
        at: DateTime<Utc>,
        scope: CadreScope,
        target: String,
        region: RegionCode,
    },
    /// Lets a spot-checker see the households of one sample (masked).
    GrantSample {
        actor: Actor,
        at: DateTime<Utc>,
        sample_id: Uuid,
        region: RegionCode,
        household_ids: Vec<Uuid>,
    },
    DeactivateUser {
        actor: Actor,
        at: DateTime<Utc>,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
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

impl UserEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::UserRegistered { .. } => "UserRegistered",
            Self::RoleChanged { .. } => "RoleChanged",
            Self::CadreAssigned { .. } => "CadreAssigned",
            Self::CadreUnassigned { .. } => "CadreUnassigned",
            Self::SampleGranted { .. } => "SampleGranted",
            Self::UserDeactivated { .. } => "UserDeactivated",
        }
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

impl Decider for User {
    type Command = UserCommand;
    type Event = UserEvent;
    type State = UserState;
    type Error = UserError;

    fn decide(cmd: &UserCommand, state: &UserState) -> Result<Vec<UserEvent>, UserError> {
        use UserCommand as C;
        use UserEvent as E;
        match cmd {
            C::RegisterUser {
                actor,
                at,
                user_id,
                name,
                role,
                jurisdiction,
            } => {
                if state.user_id.is_some() {
                    return Err(UserError::AlreadyRegistered);
                }
                authorise(
                    actor,
                    "register users",
                    &[Role::CountyOfficer],
                    jurisdiction,
                )?;
                if name.trim().is_empty() {
                    return Err(FieldError::required("name").into());
                }
                Ok(vec![E::UserRegistered {
                    user_id: *user_id,
                    name: name.trim().to_owned(),
                    role: *role,
                    jurisdiction: jurisdiction.clone(),
                    by: actor.user_id,
                    at: *at,
                }])
            }
            C::ChangeRole {
                actor,
                at,
                role,
                jurisdiction,
                reason,
            } => {
                active(state)?;
                authorise(actor, "change roles", &[Role::CountyOfficer], jurisdiction)?;
                if let Some(current) = &state.jurisdiction {
                    authorise(actor, "change roles", &[Role::CountyOfficer], current)?;
                }
                Ok(vec![E::RoleChanged {
                    role: *role,
                    jurisdiction: jurisdiction.clone(),
                    reason: reason.clone(),
                    by: actor.user_id,
                    at: *at,
                }])
            }
            C::AssignCadre {
                actor,
                at,
                scope,
                target,
                region,
            } => {
                active(state)?;
                if state.role != Some(Role::Cadre) {
                    return Err(UserError::NotACadre);
                }
                authorise(
                    actor,
                    "assign cadres",
                    &[Role::TownshipOfficer, Role::CountyOfficer],
                    region,
                )?;
                if target.trim().is_empty() {
                    return Err(FieldError::required("target").into());
                }
                Ok(vec![E::CadreAssigned {
                    scope: *scope,
                    target: target.clone(),
                    region: region.clone(),
                    by: actor.user_id,
                    at: *at,
                }])
            }
            C::UnassignCadre {
                actor,
                at,
                scope,
                target,
                region,
            } => {
                active(state)?;
                authorise(
                    actor,
                    "unassign cadres",
                    &[Role::TownshipOfficer, Role::CountyOfficer],
                    region,
                )?;
                if !state
                    .assignments
                    .iter()
                    .any(|(s, t)| s == scope && t == target)
                {
                    return Err(UserError::NoSuchAssignment);
                }
                Ok(vec![E::CadreUnassigned {
                    scope: *scope,
                    target: target.clone(),
                    by: actor.user_id,
                    at: *at,
                }])
            }
            C::GrantSample {
                actor,
                at,
                sample_id,
                region,
                household_ids,
            } => {
                active(state)?;
                if state.role != Some(Role::SpotChecker) {
                    return Err(UserError::NotASpotChecker);
                }
                authorise(
                    actor,
                    "grant spot-check samples",
                    &[Role::CountyOfficer],
                    region,
                )?;
                Ok(vec![E::SampleGranted {
                    sample_id: *sample_id,
                    region: region.clone(),
                    household_ids: household_ids.clone(),
                    by: actor.user_id,
                    at: *at,
                }])
            }
            C::DeactivateUser { actor, at, reason } => {
                active(state)?;
                if let Some(j) = &state.jurisdiction {
                    authorise(actor, "deactivate users", &[Role::CountyOfficer], j)?;
                }
                Ok(vec![E::UserDeactivated {
                    reason: reason.clone(),
                    by: actor.user_id,
                    at: *at,
                }])
            }
        }
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

fn active(state: &UserState) -> Result<(), UserError> {
    match (state.user_id, state.active) {
        (None, _) => Err(UserError::NotFound),
        (Some(_), false) => Err(UserError::Deactivated),
        (Some(_), true) => Ok(()),
    }
}
