//! 风险消除 (宽进严出): eligible households only, through the same strict village steps as
//! identification ([`procedure`](super::procedure) with the [`Removal`](super::Removal) track),
//! with eligibility checked again at the county's approval; withdrawal and rollback (回退).

use crate::actor::Role;
use crate::command::{Ctx, Step};
use crate::error::FieldError;
use crate::household::state::{HouseholdState, MonitoringStatus, RemovalStage};

use super::super::{HouseholdError, HouseholdEvent};
use super::{COUNTY, Decision, SECRETARY, STOPPERS};

fn require_eligible(ctx: &Ctx<HouseholdState>) -> Result<(), HouseholdError> {
    let eligibility = ctx.eligibility();
    if eligibility.eligible {
        Ok(())
    } else {
        Err(HouseholdError::RemovalNotEligible {
            reasons: eligibility.reasons,
        })
    }
}

/// 风险消除申请 — refused with every failing reason while the household is not eligible.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposeRemoval {
    pub reason: String,
}

impl Step<HouseholdState> for ProposeRemoval {
    const ACTION: &'static str = "propose risk removal";
    const ROLES: &'static [Role] = SECRETARY;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        if ctx.state.status != MonitoringStatus::Monitored {
            return Err(HouseholdError::NotMonitored);
        }
        if ctx.state.removal.is_some() {
            return Err(HouseholdError::RemovalInProgress);
        }
        FieldError::require_text("reason", &self.reason)?;
        require_eligible(ctx)?;
        Ok(HouseholdEvent::RemovalProposed {
            reason: self.reason.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// 县级审定 ⇒ risk removed. Eligibility is checked again here.
#[derive(Debug, Clone, PartialEq)]
pub struct ApproveRemoval {
    pub opinion: String,
}

impl Step<HouseholdState> for ApproveRemoval {
    const ACTION: &'static str = "approve risk removal";
    const ROLES: &'static [Role] = COUNTY;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let removal = ctx
            .state
            .removal
            .as_ref()
            .ok_or(HouseholdError::NoRemovalInProgress)?;
        if removal.steps.stage != RemovalStage::TownshipApproved {
            return Err(HouseholdError::StepOutOfOrder {
                step: "removal approval",
                stage: removal.steps.stage.code(),
            });
        }
        require_eligible(ctx)?;
        let episode = ctx
            .state
            .current_episode()
            .ok_or(HouseholdError::NotMonitored)?;
        Ok(HouseholdEvent::RiskRemovalApproved {
            episode_id: episode.episode_id,
            opinion: self.opinion.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// Abandons a removal procedure (review rejected, objection upheld…).
#[derive(Debug, Clone, PartialEq)]
pub struct WithdrawRemoval {
    pub reason: String,
}

impl Step<HouseholdState> for WithdrawRemoval {
    const ACTION: &'static str = "withdraw a removal";
    const ROLES: &'static [Role] = STOPPERS;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let removal = ctx
            .state
            .removal
            .as_ref()
            .ok_or(HouseholdError::NoRemovalInProgress)?;
        FieldError::require_text("reason", &self.reason)?;
        Ok(HouseholdEvent::RemovalWithdrawn {
            reason: self.reason.trim().to_owned(),
            stage: removal.steps.stage,
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// 回退 — undoes a removal: the same episode is monitored again.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackRemoval {
    pub reason: String,
}

impl Step<HouseholdState> for RollbackRemoval {
    const ACTION: &'static str = "roll back a removal";
    const ROLES: &'static [Role] = COUNTY;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        if ctx.state.status != MonitoringStatus::RiskRemoved {
            return Err(HouseholdError::NotRiskRemoved);
        }
        let episode = ctx
            .state
            .episodes
            .last()
            .ok_or(HouseholdError::NotRiskRemoved)?;
        FieldError::require_text("reason", &self.reason)?;
        Ok(HouseholdEvent::RemovalRolledBack {
            episode_id: episode.episode_id,
            reason: self.reason.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}
