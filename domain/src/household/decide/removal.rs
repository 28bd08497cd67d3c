//! 风险消除 (宽进严出): eligible households only, through the same strict steps as
//! identification, with eligibility checked again at the county's approval.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::attachment::AttachmentHash;
use crate::error::FieldError;
use crate::household::state::{MonitoringStatus, Removal, RemovalStage};
use crate::vocab::{ReviewResult, TownshipDecision};

use super::super::{HouseholdError, HouseholdEvent};
use super::Ctx;
use super::identification::{closable, notice_start, review_fields, team};

type Decision = Result<HouseholdEvent, HouseholdError>;

fn current<'a>(ctx: &Ctx<'a>) -> Result<&'a Removal, HouseholdError> {
    ctx.state
        .removal
        .as_ref()
        .ok_or(HouseholdError::NoRemovalInProgress)
}

fn expect(
    removal: &Removal,
    step: &'static str,
    stages: &[RemovalStage],
) -> Result<(), HouseholdError> {
    if stages.contains(&removal.stage) {
        Ok(())
    } else {
        Err(HouseholdError::StepOutOfOrder {
            step,
            stage: removal.stage.code(),
        })
    }
}

fn require_eligible(ctx: &Ctx) -> Result<(), HouseholdError> {
    let eligibility = ctx.eligibility();
    if eligibility.eligible {
        Ok(())
    } else {
        Err(HouseholdError::RemovalNotEligible {
            reasons: eligibility.reasons,
        })
    }
}

pub(super) fn propose(ctx: &Ctx, reason: &str) -> Decision {
    if ctx.state.status != MonitoringStatus::Monitored {
        return Err(HouseholdError::NotMonitored);
    }
    if ctx.state.removal.is_some() {
        return Err(HouseholdError::RemovalInProgress);
    }
    FieldError::require_text("reason", reason)?;
    require_eligible(ctx)?;
    Ok(HouseholdEvent::RemovalProposed {
        reason: reason.trim().to_owned(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn verification(
    ctx: &Ctx,
    verifier_ids: &[Uuid],
    findings: &str,
    attachments: &[AttachmentHash],
) -> Decision {
    expect(
        current(ctx)?,
        "removal verification",
        &[RemovalStage::Proposed],
    )?;
    FieldError::require_text("findings", findings)?;
    Ok(HouseholdEvent::RemovalVerificationRecorded {
        verifier_ids: team(ctx, verifier_ids)?,
        findings: findings.trim().to_owned(),
        attachments: attachments.to_vec(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn democratic_review(
    ctx: &Ctx,
    minutes: &str,
    attendees: u32,
    result: ReviewResult,
    attachments: &[AttachmentHash],
) -> Decision {
    expect(
        current(ctx)?,
        "removal democratic review",
        &[RemovalStage::Verified, RemovalStage::ReviewRejected],
    )?;
    review_fields(minutes, attendees)?;
    Ok(HouseholdEvent::RemovalDemocraticReviewRecorded {
        minutes: minutes.trim().to_owned(),
        attendees,
        result,
        attachments: attachments.to_vec(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn start_notice(
    ctx: &Ctx,
    start: NaiveDate,
    attachments: &[AttachmentHash],
) -> Decision {
    let removal = current(ctx)?;
    if removal.stage == RemovalStage::ReviewRejected {
        return Err(HouseholdError::DemocraticReviewRejected);
    }
    expect(removal, "removal notice", &[RemovalStage::ReviewApproved])?;
    notice_start(ctx, start, removal.reviewed_on)?;
    Ok(HouseholdEvent::RemovalNoticeStarted {
        start,
        attachments: attachments.to_vec(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn close_notice(ctx: &Ctx) -> Decision {
    let removal = current(ctx)?;
    expect(
        removal,
        "closing the removal notice",
        &[RemovalStage::NoticeOpen],
    )?;
    let notice = removal
        .notice
        .as_ref()
        .ok_or(HouseholdError::NoNoticeOpen)?;
    let (days, objections) = closable(ctx, notice)?;
    Ok(HouseholdEvent::RemovalNoticeClosed {
        start: notice.start,
        closed_on: ctx.today,
        days,
        objections,
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn township_review(ctx: &Ctx, decision: TownshipDecision, opinion: &str) -> Decision {
    expect(
        current(ctx)?,
        "removal township review",
        &[RemovalStage::NoticeClosed],
    )?;
    if decision == TownshipDecision::Return {
        FieldError::require_text("opinion", opinion)?;
    }
    Ok(HouseholdEvent::RemovalTownshipReviewRecorded {
        decision,
        opinion: opinion.trim().to_owned(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn approve(ctx: &Ctx, opinion: &str) -> Decision {
    expect(
        current(ctx)?,
        "removal approval",
        &[RemovalStage::TownshipApproved],
    )?;
    require_eligible(ctx)?;
    let episode = ctx
        .state
        .current_episode()
        .ok_or(HouseholdError::NotMonitored)?;
    Ok(HouseholdEvent::RiskRemovalApproved {
        episode_id: episode.episode_id,
        opinion: opinion.trim().to_owned(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn withdraw(ctx: &Ctx, reason: &str) -> Decision {
    let removal = current(ctx)?;
    FieldError::require_text("reason", reason)?;
    Ok(HouseholdEvent::RemovalWithdrawn {
        reason: reason.trim().to_owned(),
        stage: removal.stage,
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn rollback(ctx: &Ctx, reason: &str) -> Decision {
    if ctx.state.status != MonitoringStatus::RiskRemoved {
        return Err(HouseholdError::NotRiskRemoved);
    }
    let episode = ctx
        .state
        .episodes
        .last()
        .ok_or(HouseholdError::NotRiskRemoved)?;
    FieldError::require_text("reason", reason)?;
    Ok(HouseholdEvent::RemovalRolledBack {
        episode_id: episode.episode_id,
        reason: reason.trim().to_owned(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}
