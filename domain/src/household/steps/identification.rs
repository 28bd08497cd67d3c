//! 识别纳入: application → home verification → data comparison → democratic review →
//! public notice → township review → county approval, each only after its predecessor (the
//! village steps are in [`procedure`](super::procedure)); rejection at any stage; the green
//! channel (绿色通道, 先帮扶后认定).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::actor::Role;
use crate::attachment::AttachmentHash;
use crate::calendar::add_days;
use crate::command::{Ctx, Step};
use crate::error::FieldError;
use crate::household::error::Record;
use crate::household::state::{
    HouseholdState, Identification, IdentificationStage, MonitoringStatus,
};
use crate::vocab::{Category, RiskType};

use super::super::{HouseholdError, HouseholdEvent};
use super::{ALERT_APPLICANTS, COUNTY, DECIDERS, Decision, STOPPERS, VILLAGE};

fn current<'a>(ctx: &Ctx<'a, HouseholdState>) -> Result<&'a Identification, HouseholdError> {
    ctx.state
        .identification
        .as_ref()
        .ok_or(HouseholdError::NoIdentificationInProgress)
}

fn expect(
    identification: &Identification,
    step: &'static str,
    stage: IdentificationStage,
) -> Result<(), HouseholdError> {
    if identification.steps.stage == stage {
        Ok(())
    } else {
        Err(HouseholdError::StepOutOfOrder {
            step,
            stage: identification.steps.stage.code(),
        })
    }
}

/// 申请 + 承诺授权. Also the re-entry of a household whose risk was removed: it goes through
/// the whole procedure again and becomes a new episode.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyForMonitoring {
    pub application_id: Uuid,
    /// 《监测对象申请及承诺授权查询书》 signed: without it, nothing may be queried.
    pub signed_authorisation: bool,
    /// When the clue was found (alert raised, visit…); the deadline counts from it.
    /// Defaults to the application date.
    pub clue_found_on: Option<NaiveDate>,
    /// The alert whose study led to this application, if any.
    pub source_alert: Option<Uuid>,
    pub statement: String,
    pub attachments: Vec<AttachmentHash>,
}

impl Step<HouseholdState> for ApplyForMonitoring {
    const ACTION: &'static str = "apply for monitoring";
    const ROLES: &'static [Role] = VILLAGE;
    /// 一户一档一研究一措施: a township study that concludes "start identification" files the
    /// application itself, naming the alert; other applications come from the village.
    fn roles(&self) -> &'static [Role] {
        match self.source_alert {
            Some(_) => ALERT_APPLICANTS,
            None => VILLAGE,
        }
    }
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        match ctx.state.status {
            MonitoringStatus::Monitored => return Err(HouseholdError::AlreadyMonitored),
            MonitoringStatus::Identifying => return Err(HouseholdError::IdentificationInProgress),
            MonitoringStatus::NotMonitored | MonitoringStatus::RiskRemoved => {}
        }
        if self.attachments.is_empty() {
            return Err(FieldError::required("attachments").into());
        }
        let clue_found_on = self.clue_found_on.unwrap_or(ctx.today);
        if clue_found_on > ctx.today {
            return Err(FieldError::in_future("clue_found_on").into());
        }
        if !self.signed_authorisation {
            return Err(HouseholdError::AuthorisationNotSigned);
        }
        let previous_episode_id = match ctx.state.status {
            MonitoringStatus::RiskRemoved => ctx.state.episodes.last().map(|e| e.episode_id),
            _ => None,
        };
        Ok(HouseholdEvent::MonitoringApplied {
            application_id: self.application_id,
            clue_found_on,
            due_on: add_days(clue_found_on, ctx.rules().identification_deadline_days),
            previous_episode_id,
            source_alert: self.source_alert,
            statement: self.statement.trim().to_owned(),
            attachments: self.attachments.clone(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// 信息比对 — the county's cross-department comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordDataComparison {
    pub passed: bool,
    /// What the comparison found (vehicle, business licence, civil servant…).
    pub flags: Vec<String>,
    pub notes: String,
}

impl Step<HouseholdState> for RecordDataComparison {
    const ACTION: &'static str = "record a data comparison";
    const ROLES: &'static [Role] = COUNTY;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        expect(
            current(ctx)?,
            "data comparison",
            IdentificationStage::HomeVerified,
        )?;
        let flags: Vec<String> = self
            .flags
            .iter()
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty())
            .collect();
        if !self.passed && flags.is_empty() {
            return Err(FieldError::required("flags").into());
        }
        Ok(HouseholdEvent::DataComparisonRecorded {
            passed: self.passed,
            flags,
            notes: self.notes.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// 县级审定 ⇒ monitored, as a new episode.
#[derive(Debug, Clone, PartialEq)]
pub struct ApproveInclusion {
    pub episode_id: Uuid,
    pub category: Category,
    pub risk_types: Vec<RiskType>,
    pub baseline_per_capita_fen: i64,
    pub opinion: String,
}

impl Step<HouseholdState> for ApproveInclusion {
    const ACTION: &'static str = "approve inclusion";
    const ROLES: &'static [Role] = COUNTY;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let identification = current(ctx)?;
        expect(
            identification,
            "county approval",
            IdentificationStage::TownshipApproved,
        )?;
        if self.risk_types.is_empty() {
            return Err(FieldError::required("risk_types").into());
        }
        if self.baseline_per_capita_fen < 0 {
            return Err(FieldError::negative("baseline_per_capita_fen").into());
        }
        let formerly_poor = ctx
            .state
            .registration
            .as_ref()
            .is_some_and(|r| r.formerly_poor);
        let fits = match self.category {
            Category::UnstableExPoor => formerly_poor,
            Category::Marginal => !formerly_poor,
            Category::SuddenSevere => true,
        };
        if !fits {
            return Err(HouseholdError::CategoryMismatch {
                category: self.category,
                formerly_poor,
            });
        }
        if ctx
            .state
            .episodes
            .iter()
            .any(|e| e.episode_id == self.episode_id)
        {
            return Err(HouseholdError::DuplicateId {
                record: Record::Episode,
                id: self.episode_id,
            });
        }
        let risk_types: BTreeSet<RiskType> = self.risk_types.iter().copied().collect();
        Ok(HouseholdEvent::InclusionApproved {
            episode_id: self.episode_id,
            episode_number: ctx.state.next_episode_number(),
            previous_episode_id: identification.previous_episode_id,
            category: self.category,
            risk_types: risk_types.into_iter().collect(),
            baseline_per_capita_fen: self.baseline_per_capita_fen,
            clue_found_on: identification.clue_found_on,
            days_from_clue: (ctx.today - identification.clue_found_on).num_days(),
            within_deadline: ctx.today <= identification.due_on,
            opinion: self.opinion.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// Ends the procedure without inclusion, at any stage before approval.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectInclusion {
    pub reason: String,
}

impl Step<HouseholdState> for RejectInclusion {
    const ACTION: &'static str = "reject inclusion";
    const ROLES: &'static [Role] = DECIDERS;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let identification = current(ctx)?;
        FieldError::require_text("reason", &self.reason)?;
        Ok(HouseholdEvent::InclusionRejected {
            reason: self.reason.trim().to_owned(),
            stage: identification.steps.stage,
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// 绿色通道 (先帮扶后认定) for disaster or accident: measures before approval, the steps
/// back-filled by a deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenGreenChannel {
    pub risk_type: RiskType,
    pub reason: String,
}

impl Step<HouseholdState> for OpenGreenChannel {
    const ACTION: &'static str = "open the green channel";
    const ROLES: &'static [Role] = STOPPERS;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let identification = current(ctx)?;
        if identification.green_channel.is_some() {
            return Err(HouseholdError::GreenChannelAlreadyOpen);
        }
        if !self.risk_type.allows_green_channel() {
            return Err(HouseholdError::GreenChannelNotForRisk {
                risk_type: self.risk_type,
            });
        }
        FieldError::require_text("reason", &self.reason)?;
        Ok(HouseholdEvent::GreenChannelOpened {
            risk_type: self.risk_type,
            reason: self.reason.trim().to_owned(),
            backfill_due: add_days(ctx.today, ctx.rules().green_channel_backfill_days),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}
