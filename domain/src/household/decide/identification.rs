//! 识别纳入: application → home verification → data comparison → democratic review →
//! public notice → township review → county approval, each only after its predecessor.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::attachment::AttachmentHash;
use crate::calendar::add_days;
use crate::error::{FieldError, InputRule};
use crate::household::error::Record;
use crate::household::state::{Identification, IdentificationStage, MonitoringStatus, Notice};
use crate::vocab::{Category, ReviewResult, RiskType, TownshipDecision};

use super::super::{HouseholdError, HouseholdEvent};
use super::Ctx;

type Decision = Result<HouseholdEvent, HouseholdError>;

fn current<'a>(ctx: &Ctx<'a>) -> Result<&'a Identification, HouseholdError> {
    ctx.state
        .identification
        .as_ref()
        .ok_or(HouseholdError::NoIdentificationInProgress)
}

fn expect(
    identification: &Identification,
    step: &'static str,
    stages: &[IdentificationStage],
) -> Result<(), HouseholdError> {
    if stages.contains(&identification.stage) {
        Ok(())
    } else {
        Err(HouseholdError::StepOutOfOrder {
            step,
            stage: identification.stage.code(),
        })
    }
}

pub(super) fn apply(
    ctx: &Ctx,
    application_id: Uuid,
    signed_authorisation: bool,
    clue_found_on: Option<NaiveDate>,
    source_alert: Option<Uuid>,
    statement: &str,
    attachments: &[AttachmentHash],
) -> Decision {
    match ctx.state.status {
        MonitoringStatus::Monitored => return Err(HouseholdError::AlreadyMonitored),
        MonitoringStatus::Identifying => return Err(HouseholdError::IdentificationInProgress),
        MonitoringStatus::NotMonitored | MonitoringStatus::RiskRemoved => {}
    }
    if attachments.is_empty() {
        return Err(FieldError::required("attachments").into());
    }
    let clue_found_on = clue_found_on.unwrap_or(ctx.today);
    if clue_found_on > ctx.today {
        return Err(FieldError::in_future("clue_found_on").into());
    }
    if !signed_authorisation {
        return Err(HouseholdError::AuthorisationNotSigned);
    }
    let previous_episode_id = match ctx.state.status {
        MonitoringStatus::RiskRemoved => ctx.state.episodes.last().map(|e| e.episode_id),
        _ => None,
    };
    Ok(HouseholdEvent::MonitoringApplied {
        application_id,
        clue_found_on,
        due_on: add_days(clue_found_on, ctx.rules().identification_deadline_days),
        previous_episode_id,
        source_alert,
        statement: statement.trim().to_owned(),
        attachments: attachments.to_vec(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

/// Distinct people in a verification team, in the order given.
pub(super) fn team(ctx: &Ctx, verifier_ids: &[Uuid]) -> Result<Vec<Uuid>, HouseholdError> {
    let mut seen = BTreeSet::new();
    let team: Vec<Uuid> = verifier_ids
        .iter()
        .copied()
        .filter(|id| seen.insert(*id))
        .collect();
    let required = ctx.rules().home_verification_min_people;
    let got = u32::try_from(team.len()).unwrap_or(u32::MAX);
    if got < required {
        return Err(HouseholdError::NotEnoughVerifiers { required, got });
    }
    Ok(team)
}

pub(super) fn home_verification(
    ctx: &Ctx,
    verifier_ids: &[Uuid],
    findings: &str,
    attachments: &[AttachmentHash],
) -> Decision {
    expect(
        current(ctx)?,
        "home verification",
        &[IdentificationStage::Applied],
    )?;
    FieldError::require_text("findings", findings)?;
    Ok(HouseholdEvent::HomeVerificationRecorded {
        verifier_ids: team(ctx, verifier_ids)?,
        findings: findings.trim().to_owned(),
        attachments: attachments.to_vec(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn data_comparison(ctx: &Ctx, passed: bool, flags: &[String], notes: &str) -> Decision {
    expect(
        current(ctx)?,
        "data comparison",
        &[IdentificationStage::HomeVerified],
    )?;
    let flags: Vec<String> = flags
        .iter()
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty())
        .collect();
    if !passed && flags.is_empty() {
        return Err(FieldError::required("flags").into());
    }
    Ok(HouseholdEvent::DataComparisonRecorded {
        passed,
        flags,
        notes: notes.trim().to_owned(),
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
        "democratic review",
        &[
            IdentificationStage::DataCompared,
            IdentificationStage::ReviewRejected,
        ],
    )?;
    review_fields(minutes, attendees)?;
    Ok(HouseholdEvent::DemocraticReviewRecorded {
        minutes: minutes.trim().to_owned(),
        attendees,
        result,
        attachments: attachments.to_vec(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

/// 民主评议 keeps its minutes: the reasoned decision is the record, not only the result.
pub(super) fn review_fields(minutes: &str, attendees: u32) -> Result<(), FieldError> {
    FieldError::require_text("minutes", minutes)?;
    if attendees == 0 {
        return Err(FieldError::new("attendees", InputRule::NotPositive));
    }
    Ok(())
}

pub(super) fn start_notice(
    ctx: &Ctx,
    start: NaiveDate,
    attachments: &[AttachmentHash],
) -> Decision {
    let identification = current(ctx)?;
    if identification.stage == IdentificationStage::ReviewRejected {
        return Err(HouseholdError::DemocraticReviewRejected);
    }
    expect(
        identification,
        "public notice",
        &[IdentificationStage::ReviewApproved],
    )?;
    notice_start(ctx, start, identification.reviewed_on)?;
    Ok(HouseholdEvent::PublicNoticeStarted {
        start,
        attachments: attachments.to_vec(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

/// A notice starts between its democratic review and today.
pub(super) fn notice_start(
    ctx: &Ctx,
    start: NaiveDate,
    reviewed_on: Option<NaiveDate>,
) -> Result<(), FieldError> {
    if start > ctx.today {
        return Err(FieldError::in_future("start"));
    }
    if reviewed_on.is_some_and(|reviewed| start < reviewed) {
        return Err(FieldError::new(
            "start",
            InputRule::Before {
                other: "the democratic review",
            },
        ));
    }
    Ok(())
}

pub(super) fn objection(ctx: &Ctx, objection_id: Uuid, summary: &str) -> Decision {
    let notice = ctx
        .state
        .open_notice()
        .ok_or(HouseholdError::NoNoticeOpen)?;
    FieldError::require_text("summary", summary)?;
    if notice.objections.contains_key(&objection_id) {
        return Err(HouseholdError::DuplicateId {
            record: Record::Objection,
            id: objection_id,
        });
    }
    Ok(HouseholdEvent::NoticeObjectionRecorded {
        objection_id,
        summary: summary.trim().to_owned(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn reverify(
    ctx: &Ctx,
    objection_id: Uuid,
    findings: &str,
    upheld: bool,
    attachments: &[AttachmentHash],
) -> Decision {
    let notice = ctx
        .state
        .open_notice()
        .ok_or(HouseholdError::NoNoticeOpen)?;
    let objection = notice
        .objections
        .get(&objection_id)
        .ok_or(HouseholdError::NotFound {
            record: Record::Objection,
            id: objection_id,
        })?;
    if objection.reverified.is_some() {
        return Err(HouseholdError::ObjectionAlreadyReverified { objection_id });
    }
    FieldError::require_text("findings", findings)?;
    Ok(HouseholdEvent::ObjectionReverified {
        objection_id,
        findings: findings.trim().to_owned(),
        upheld,
        attachments: attachments.to_vec(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

/// Checks a notice may close today: the minimum days have passed and every objection was
/// re-verified. Returns the days elapsed and the number of objections.
pub(super) fn closable(ctx: &Ctx, notice: &Notice) -> Result<(u32, u32), HouseholdError> {
    let required_days = ctx.rules().public_notice_min_days;
    let elapsed_days = (ctx.today - notice.start).num_days();
    if elapsed_days < i64::from(required_days) {
        return Err(HouseholdError::NoticePeriodNotElapsed {
            required_days,
            elapsed_days,
        });
    }
    if let Some((objection_id, _)) = notice
        .objections
        .iter()
        .find(|(_, o)| o.reverified.is_none())
    {
        return Err(HouseholdError::ObjectionNotReverified {
            objection_id: *objection_id,
        });
    }
    Ok((
        u32::try_from(elapsed_days).unwrap_or(u32::MAX),
        u32::try_from(notice.objections.len()).unwrap_or(u32::MAX),
    ))
}

pub(super) fn close_notice(ctx: &Ctx) -> Decision {
    let identification = current(ctx)?;
    expect(
        identification,
        "closing the notice",
        &[IdentificationStage::NoticeOpen],
    )?;
    let notice = identification
        .notice
        .as_ref()
        .ok_or(HouseholdError::NoNoticeOpen)?;
    let (days, objections) = closable(ctx, notice)?;
    Ok(HouseholdEvent::PublicNoticeClosed {
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
        "township review",
        &[IdentificationStage::NoticeClosed],
    )?;
    if decision == TownshipDecision::Return {
        FieldError::require_text("opinion", opinion)?;
    }
    Ok(HouseholdEvent::TownshipReviewRecorded {
        decision,
        opinion: opinion.trim().to_owned(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn approve(
    ctx: &Ctx,
    episode_id: Uuid,
    category: Category,
    risk_types: &[RiskType],
    baseline_per_capita_fen: i64,
    opinion: &str,
) -> Decision {
    let identification = current(ctx)?;
    expect(
        identification,
        "county approval",
        &[IdentificationStage::TownshipApproved],
    )?;
    if risk_types.is_empty() {
        return Err(FieldError::required("risk_types").into());
    }
    if baseline_per_capita_fen < 0 {
        return Err(FieldError::negative("baseline_per_capita_fen").into());
    }
    let formerly_poor = ctx
        .state
        .registration
        .as_ref()
        .is_some_and(|r| r.formerly_poor);
    let fits = match category {
        Category::UnstableExPoor => formerly_poor,
        Category::Marginal => !formerly_poor,
        Category::SuddenSevere => true,
    };
    if !fits {
        return Err(HouseholdError::CategoryMismatch {
            category,
            formerly_poor,
        });
    }
    if ctx
        .state
        .episodes
        .iter()
        .any(|e| e.episode_id == episode_id)
    {
        return Err(HouseholdError::DuplicateId {
            record: Record::Episode,
            id: episode_id,
        });
    }
    let risk_types: BTreeSet<RiskType> = risk_types.iter().copied().collect();
    Ok(HouseholdEvent::InclusionApproved {
        episode_id,
        episode_number: ctx.state.next_episode_number(),
        previous_episode_id: identification.previous_episode_id,
        category,
        risk_types: risk_types.into_iter().collect(),
        baseline_per_capita_fen,
        clue_found_on: identification.clue_found_on,
        days_from_clue: (ctx.today - identification.clue_found_on).num_days(),
        within_deadline: ctx.today <= identification.due_on,
        opinion: opinion.trim().to_owned(),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn reject(ctx: &Ctx, reason: &str) -> Decision {
    let identification = current(ctx)?;
    FieldError::require_text("reason", reason)?;
    Ok(HouseholdEvent::InclusionRejected {
        reason: reason.trim().to_owned(),
        stage: identification.stage,
        by: ctx.by.clone(),
        at: ctx.at,
    })
}

pub(super) fn open_green_channel(ctx: &Ctx, risk_type: RiskType, reason: &str) -> Decision {
    let identification = current(ctx)?;
    if identification.green_channel.is_some() {
        return Err(HouseholdError::GreenChannelAlreadyOpen);
    }
    if !risk_type.allows_green_channel() {
        return Err(HouseholdError::GreenChannelNotForRisk { risk_type });
    }
    FieldError::require_text("reason", reason)?;
    Ok(HouseholdEvent::GreenChannelOpened {
        risk_type,
        reason: reason.trim().to_owned(),
        backfill_due: add_days(ctx.today, ctx.rules().green_channel_backfill_days),
        by: ctx.by.clone(),
        at: ctx.at,
    })
}
