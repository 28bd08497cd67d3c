//! The steps of a user's stream. Nobody grants a jurisdiction wider than their own.

use uuid::Uuid;

use crate::actor::{Role, authorise};
use crate::command::{Ctx, Step};
use crate::error::FieldError;
use crate::region::RegionCode;

use super::{CadreScope, UserError, UserEvent, UserState, active};

type Decision = Result<UserEvent, UserError>;

const COUNTY: &[Role] = &[Role::CountyOfficer];
const ASSIGNERS: &[Role] = &[Role::TownshipOfficer, Role::CountyOfficer];

/// A county officer registers users within the county.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterUser {
    pub user_id: Uuid,
    pub name: String,
    pub role: Role,
    pub jurisdiction: RegionCode,
}

impl Step<UserState> for RegisterUser {
    const ACTION: &'static str = "register users";
    const ROLES: &'static [Role] = COUNTY;
    fn decide(&self, ctx: &Ctx<UserState>) -> Decision {
        if ctx.state.user_id.is_some() {
            return Err(UserError::AlreadyRegistered);
        }
        authorise(ctx.by, Self::ACTION, Self::ROLES, &self.jurisdiction)?;
        FieldError::require_text("name", &self.name)?;
        Ok(UserEvent::UserRegistered {
            user_id: self.user_id,
            name: self.name.trim().to_owned(),
            role: self.role,
            jurisdiction: self.jurisdiction.clone(),
            by: ctx.by.user_id,
            at: ctx.at,
        })
    }
}

/// A new role and jurisdiction; the officer must cover both the old and the new one.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRole {
    pub role: Role,
    pub jurisdiction: RegionCode,
    pub reason: String,
}

impl Step<UserState> for ChangeRole {
    const ACTION: &'static str = "change roles";
    const ROLES: &'static [Role] = COUNTY;
    fn decide(&self, ctx: &Ctx<UserState>) -> Decision {
        active(ctx.state)?;
        authorise(ctx.by, Self::ACTION, Self::ROLES, &self.jurisdiction)?;
        if let Some(current) = &ctx.state.jurisdiction {
            authorise(ctx.by, Self::ACTION, Self::ROLES, current)?;
        }
        Ok(UserEvent::RoleChanged {
            role: self.role,
            jurisdiction: self.jurisdiction.clone(),
            reason: self.reason.clone(),
            by: ctx.by.user_id,
            at: ctx.at,
        })
    }
}

/// 包户/包村/包片 — `target` is a household id (HOUSEHOLD) or a region code (VILLAGE, AREA).
#[derive(Debug, Clone, PartialEq)]
pub struct AssignCadre {
    pub scope: CadreScope,
    pub target: String,
    pub region: RegionCode,
}

impl Step<UserState> for AssignCadre {
    const ACTION: &'static str = "assign cadres";
    const ROLES: &'static [Role] = ASSIGNERS;
    fn decide(&self, ctx: &Ctx<UserState>) -> Decision {
        active(ctx.state)?;
        if ctx.state.role != Some(Role::Cadre) {
            return Err(UserError::NotACadre);
        }
        authorise(ctx.by, Self::ACTION, Self::ROLES, &self.region)?;
        FieldError::require_text("target", &self.target)?;
        Ok(UserEvent::CadreAssigned {
            scope: self.scope,
            target: self.target.clone(),
            region: self.region.clone(),
            by: ctx.by.user_id,
            at: ctx.at,
        })
    }
}

/// Ends a cadre assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct UnassignCadre {
    pub scope: CadreScope,
    pub target: String,
    pub region: RegionCode,
}

impl Step<UserState> for UnassignCadre {
    const ACTION: &'static str = "unassign cadres";
    const ROLES: &'static [Role] = ASSIGNERS;
    fn decide(&self, ctx: &Ctx<UserState>) -> Decision {
        active(ctx.state)?;
        authorise(ctx.by, Self::ACTION, Self::ROLES, &self.region)?;
        if !ctx
            .state
            .assignments
            .iter()
            .any(|(s, t)| *s == self.scope && *t == self.target)
        {
            return Err(UserError::NoSuchAssignment);
        }
        Ok(UserEvent::CadreUnassigned {
            scope: self.scope,
            target: self.target.clone(),
            by: ctx.by.user_id,
            at: ctx.at,
        })
    }
}

/// Lets a spot-checker see the households of one sample (masked).
#[derive(Debug, Clone, PartialEq)]
pub struct GrantSample {
    pub sample_id: Uuid,
    pub region: RegionCode,
    pub household_ids: Vec<Uuid>,
}

impl Step<UserState> for GrantSample {
    const ACTION: &'static str = "grant spot-check samples";
    const ROLES: &'static [Role] = COUNTY;
    fn decide(&self, ctx: &Ctx<UserState>) -> Decision {
        active(ctx.state)?;
        if ctx.state.role != Some(Role::SpotChecker) {
            return Err(UserError::NotASpotChecker);
        }
        authorise(ctx.by, Self::ACTION, Self::ROLES, &self.region)?;
        Ok(UserEvent::SampleGranted {
            sample_id: self.sample_id,
            region: self.region.clone(),
            household_ids: self.household_ids.clone(),
            by: ctx.by.user_id,
            at: ctx.at,
        })
    }
}

/// Every token of the user stops working at once.
#[derive(Debug, Clone, PartialEq)]
pub struct DeactivateUser {
    pub reason: String,
}

impl Step<UserState> for DeactivateUser {
    const ACTION: &'static str = "deactivate users";
    const ROLES: &'static [Role] = COUNTY;
    fn decide(&self, ctx: &Ctx<UserState>) -> Decision {
        active(ctx.state)?;
        if let Some(j) = &ctx.state.jurisdiction {
            authorise(ctx.by, Self::ACTION, Self::ROLES, j)?;
        }
        Ok(UserEvent::UserDeactivated {
            reason: self.reason.clone(),
            by: ctx.by.user_id,
            at: ctx.at,
        })
    }
}
