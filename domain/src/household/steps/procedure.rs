//! 村级程序 — the village procedure that identification (识别纳入) and risk removal (风险消除)
//! share, written once: verification by a team (入户核实) → democratic review with minutes
//! (民主评议) → public notice with objections re-verified (公示, 异议复核) → township review
//! (乡镇审核). Which procedure a step belongs to is its `track` ([`Inclusion`] or [`Removal`]);
//! the track says where its state lives, what its stages are called and which facts it records.

use std::collections::BTreeSet;
use std::fmt::Debug;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::actor::{Actor, Role};
use crate::attachment::AttachmentHash;
use crate::command::{Ctx, Step};
use crate::error::{FieldError, InputRule};
use crate::household::error::Record;
use crate::household::state::{
    HouseholdState, IdentificationStage, Notice, RemovalStage, VillageSteps,
};
use crate::vocab::{Code, ReviewResult, TownshipDecision};

use super::super::{HouseholdError, HouseholdEvent};
use super::{Decision, FIELD, OBJECTION_TAKERS, SECRETARY, TOWNSHIP};

/// Which procedure a village step serves.
pub trait Track: Copy + Debug + PartialEq + Send + Sync + 'static {
    type Stage: Code + Debug;
    const NAMES: Names;
    const STAGES: Stages<Self::Stage>;

    /// The procedure under way, or the error saying there is none.
    fn steps(state: &HouseholdState) -> Result<&VillageSteps<Self::Stage>, HouseholdError>;

    /// The fact in this procedure's own event vocabulary.
    fn event(fact: Fact) -> HouseholdEvent;
}

/// 识别纳入 — the steps of an identification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inclusion;

/// 风险消除 — the steps of a risk removal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removal;

/// How a procedure's steps are named in messages: `action` after "may not", `step` in
/// "… is not the next step".
pub struct Names {
    pub verification: (&'static str, &'static str),
    pub review: (&'static str, &'static str),
    pub notice: (&'static str, &'static str),
    pub close: (&'static str, &'static str),
    pub township: (&'static str, &'static str),
}

/// The stages a procedure passes through, by role in the shared steps.
pub struct Stages<S> {
    /// Waiting for its verification (also where a township return sends it).
    pub verifying: S,
    /// Where a democratic review may be held (again after a rejection).
    pub ready_for_review: S,
    pub review_approved: S,
    pub review_rejected: S,
    pub notice_open: S,
    pub notice_closed: S,
    pub township_approved: S,
}

/// A fact of the shared steps, before the track names it.
pub enum Fact {
    Verified {
        verifier_ids: Vec<Uuid>,
        findings: String,
        attachments: Vec<AttachmentHash>,
        by: Actor,
        at: DateTime<Utc>,
    },
    Reviewed {
        minutes: String,
        attendees: u32,
        result: ReviewResult,
        attachments: Vec<AttachmentHash>,
        by: Actor,
        at: DateTime<Utc>,
    },
    NoticeStarted {
        start: NaiveDate,
        attachments: Vec<AttachmentHash>,
        by: Actor,
        at: DateTime<Utc>,
    },
    NoticeClosed {
        start: NaiveDate,
        closed_on: NaiveDate,
        days: u32,
        objections: u32,
        by: Actor,
        at: DateTime<Utc>,
    },
    TownshipReviewed {
        decision: TownshipDecision,
        opinion: String,
        by: Actor,
        at: DateTime<Utc>,
    },
}

/// Maps the shared facts onto one procedure's event variants.
macro_rules! track_events {
    ($verified:ident, $reviewed:ident, $started:ident, $closed:ident, $township:ident) => {
        fn event(fact: Fact) -> HouseholdEvent {
            use HouseholdEvent as E;
            match fact {
                #[rustfmt::skip]
                        Fact::Verified { verifier_ids, findings, attachments, by, at } =>
                            E::$verified { verifier_ids, findings, attachments, by, at },
                #[rustfmt::skip]
                        Fact::Reviewed { minutes, attendees, result, attachments, by, at } =>
                            E::$reviewed { minutes, attendees, result, attachments, by, at },
                #[rustfmt::skip]
                        Fact::NoticeStarted { start, attachments, by, at } =>
                            E::$started { start, attachments, by, at },
                #[rustfmt::skip]
                        Fact::NoticeClosed { start, closed_on, days, objections, by, at } =>
                            E::$closed { start, closed_on, days, objections, by, at },
                #[rustfmt::skip]
                        Fact::TownshipReviewed { decision, opinion, by, at } =>
                            E::$township { decision, opinion, by, at },
            }
        }
    };
}

impl Track for Inclusion {
    type Stage = IdentificationStage;
    const NAMES: Names = Names {
        verification: ("record a home verification", "home verification"),
        review: ("record a democratic review", "democratic review"),
        notice: ("start a public notice", "public notice"),
        close: ("close a public notice", "closing the notice"),
        township: ("record a township review", "township review"),
    };
    const STAGES: Stages<IdentificationStage> = Stages {
        verifying: IdentificationStage::Applied,
        ready_for_review: IdentificationStage::DataCompared,
        review_approved: IdentificationStage::ReviewApproved,
        review_rejected: IdentificationStage::ReviewRejected,
        notice_open: IdentificationStage::NoticeOpen,
        notice_closed: IdentificationStage::NoticeClosed,
        township_approved: IdentificationStage::TownshipApproved,
    };

    fn steps(state: &HouseholdState) -> Result<&VillageSteps<IdentificationStage>, HouseholdError> {
        state
            .identification
            .as_ref()
            .map(|i| &i.steps)
            .ok_or(HouseholdError::NoIdentificationInProgress)
    }

    track_events!(
        HomeVerificationRecorded,
        DemocraticReviewRecorded,
        PublicNoticeStarted,
        PublicNoticeClosed,
        TownshipReviewRecorded
    );
}

impl Track for Removal {
    type Stage = RemovalStage;
    const NAMES: Names = Names {
        verification: ("record a removal verification", "removal verification"),
        review: (
            "record a removal democratic review",
            "removal democratic review",
        ),
        notice: ("start a removal notice", "removal notice"),
        close: ("close a removal notice", "closing the removal notice"),
        township: (
            "record a removal township review",
            "removal township review",
        ),
    };
    const STAGES: Stages<RemovalStage> = Stages {
        verifying: RemovalStage::Proposed,
        ready_for_review: RemovalStage::Verified,
        review_approved: RemovalStage::ReviewApproved,
        review_rejected: RemovalStage::ReviewRejected,
        notice_open: RemovalStage::NoticeOpen,
        notice_closed: RemovalStage::NoticeClosed,
        township_approved: RemovalStage::TownshipApproved,
    };

    fn steps(state: &HouseholdState) -> Result<&VillageSteps<RemovalStage>, HouseholdError> {
        state
            .removal
            .as_ref()
            .map(|r| &r.steps)
            .ok_or(HouseholdError::NoRemovalInProgress)
    }

    track_events!(
        RemovalVerificationRecorded,
        RemovalDemocraticReviewRecorded,
        RemovalNoticeStarted,
        RemovalNoticeClosed,
        RemovalTownshipReviewRecorded
    );
}

/// The procedure under way, if it stands at one of `stages`.
fn at_stage<'s, P: Track>(
    state: &'s HouseholdState,
    step: &'static str,
    stages: &[P::Stage],
) -> Result<&'s VillageSteps<P::Stage>, HouseholdError> {
    let steps = P::steps(state)?;
    if stages.contains(&steps.stage) {
        Ok(steps)
    } else {
        Err(HouseholdError::StepOutOfOrder {
            step,
            stage: steps.stage.code(),
        })
    }
}

/// Distinct people in a verification team, in the order given.
fn team(ctx: &Ctx<HouseholdState>, verifier_ids: &[Uuid]) -> Result<Vec<Uuid>, HouseholdError> {
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

/// 入户核实 — a visit by a team of at least two people (identification: home verification;
/// removal: its verification).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordVerification<P> {
    pub verifier_ids: Vec<Uuid>,
    pub findings: String,
    pub attachments: Vec<AttachmentHash>,
    pub track: P,
}

impl<P: Track> Step<HouseholdState> for RecordVerification<P> {
    const ACTION: &'static str = P::NAMES.verification.0;
    const ROLES: &'static [Role] = FIELD;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let step = P::NAMES.verification.1;
        at_stage::<P>(ctx.state, step, &[P::STAGES.verifying])?;
        FieldError::require_text("findings", &self.findings)?;
        Ok(P::event(Fact::Verified {
            verifier_ids: team(ctx, &self.verifier_ids)?,
            findings: self.findings.trim().to_owned(),
            attachments: self.attachments.clone(),
            by: ctx.by.clone(),
            at: ctx.at,
        }))
    }
}

/// 民主评议 — the village's review; it keeps its minutes, because the reasoned decision is the
/// record, not only the result. A rejected case may be reviewed again.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordDemocraticReview<P> {
    pub minutes: String,
    pub attendees: u32,
    pub result: ReviewResult,
    pub attachments: Vec<AttachmentHash>,
    pub track: P,
}

impl<P: Track> Step<HouseholdState> for RecordDemocraticReview<P> {
    const ACTION: &'static str = P::NAMES.review.0;
    const ROLES: &'static [Role] = SECRETARY;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let stages = [P::STAGES.ready_for_review, P::STAGES.review_rejected];
        at_stage::<P>(ctx.state, P::NAMES.review.1, &stages)?;
        FieldError::require_text("minutes", &self.minutes)?;
        if self.attendees == 0 {
            return Err(FieldError::new("attendees", InputRule::NotPositive).into());
        }
        Ok(P::event(Fact::Reviewed {
            minutes: self.minutes.trim().to_owned(),
            attendees: self.attendees,
            result: self.result,
            attachments: self.attachments.clone(),
            by: ctx.by.clone(),
            at: ctx.at,
        }))
    }
}

/// 村内公示 — the notice starts between its democratic review and today.
#[derive(Debug, Clone, PartialEq)]
pub struct StartPublicNotice<P> {
    /// First day of the notice (China time).
    pub start: NaiveDate,
    pub attachments: Vec<AttachmentHash>,
    pub track: P,
}

impl<P: Track> Step<HouseholdState> for StartPublicNotice<P> {
    const ACTION: &'static str = P::NAMES.notice.0;
    const ROLES: &'static [Role] = SECRETARY;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        if P::steps(ctx.state)?.stage == P::STAGES.review_rejected {
            return Err(HouseholdError::DemocraticReviewRejected);
        }
        let steps = at_stage::<P>(ctx.state, P::NAMES.notice.1, &[P::STAGES.review_approved])?;
        if self.start > ctx.today {
            return Err(FieldError::in_future("start").into());
        }
        if steps
            .reviewed_on
            .is_some_and(|reviewed| self.start < reviewed)
        {
            return Err(FieldError::new(
                "start",
                InputRule::Before {
                    other: "the democratic review",
                },
            )
            .into());
        }
        Ok(P::event(Fact::NoticeStarted {
            start: self.start,
            attachments: self.attachments.clone(),
            by: ctx.by.clone(),
            at: ctx.at,
        }))
    }
}

/// 公示结束 — once the minimum days have passed and every objection was re-verified.
#[derive(Debug, Clone, PartialEq)]
pub struct CloseNotice<P> {
    pub track: P,
}

impl<P: Track> Step<HouseholdState> for CloseNotice<P> {
    const ACTION: &'static str = P::NAMES.close.0;
    const ROLES: &'static [Role] = SECRETARY;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let steps = at_stage::<P>(ctx.state, P::NAMES.close.1, &[P::STAGES.notice_open])?;
        let notice = steps.notice.as_ref().ok_or(HouseholdError::NoNoticeOpen)?;
        let (days, objections) = closable(ctx, notice)?;
        Ok(P::event(Fact::NoticeClosed {
            start: notice.start,
            closed_on: ctx.today,
            days,
            objections,
            by: ctx.by.clone(),
            at: ctx.at,
        }))
    }
}

/// Checks a notice may close today. Returns the days elapsed and the number of objections.
fn closable(ctx: &Ctx<HouseholdState>, notice: &Notice) -> Result<(u32, u32), HouseholdError> {
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

/// 乡镇审核 — approve, or return the case to its verification with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordTownshipReview<P> {
    pub decision: TownshipDecision,
    pub opinion: String,
    pub track: P,
}

impl<P: Track> Step<HouseholdState> for RecordTownshipReview<P> {
    const ACTION: &'static str = P::NAMES.township.0;
    const ROLES: &'static [Role] = TOWNSHIP;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let step = P::NAMES.township.1;
        at_stage::<P>(ctx.state, step, &[P::STAGES.notice_closed])?;
        if self.decision == TownshipDecision::Return {
            FieldError::require_text("opinion", &self.opinion)?;
        }
        Ok(P::event(Fact::TownshipReviewed {
            decision: self.decision,
            opinion: self.opinion.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        }))
    }
}

/// An objection to whichever notice is open (identification or removal).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordNoticeObjection {
    pub objection_id: Uuid,
    pub summary: String,
}

impl Step<HouseholdState> for RecordNoticeObjection {
    const ACTION: &'static str = "record a notice objection";
    const ROLES: &'static [Role] = OBJECTION_TAKERS;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let notice = ctx
            .state
            .open_notice()
            .ok_or(HouseholdError::NoNoticeOpen)?;
        FieldError::require_text("summary", &self.summary)?;
        if notice.objections.contains_key(&self.objection_id) {
            return Err(HouseholdError::DuplicateId {
                record: Record::Objection,
                id: self.objection_id,
            });
        }
        Ok(HouseholdEvent::NoticeObjectionRecorded {
            objection_id: self.objection_id,
            summary: self.summary.trim().to_owned(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}

/// 异议复核 — every objection is re-verified before the notice may close.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordObjectionReverification {
    pub objection_id: Uuid,
    pub findings: String,
    pub upheld: bool,
    pub attachments: Vec<AttachmentHash>,
}

impl Step<HouseholdState> for RecordObjectionReverification {
    const ACTION: &'static str = "re-verify an objection";
    const ROLES: &'static [Role] = FIELD;
    fn decide(&self, ctx: &Ctx<HouseholdState>) -> Decision {
        let notice = ctx
            .state
            .open_notice()
            .ok_or(HouseholdError::NoNoticeOpen)?;
        let objection =
            notice
                .objections
                .get(&self.objection_id)
                .ok_or(HouseholdError::NotFound {
                    record: Record::Objection,
                    id: self.objection_id,
                })?;
        if objection.reverified.is_some() {
            return Err(HouseholdError::ObjectionAlreadyReverified {
                objection_id: self.objection_id,
            });
        }
        FieldError::require_text("findings", &self.findings)?;
        Ok(HouseholdEvent::ObjectionReverified {
            objection_id: self.objection_id,
            findings: self.findings.trim().to_owned(),
            upheld: self.upheld,
            attachments: self.attachments.clone(),
            by: ctx.by.clone(),
            at: ctx.at,
        })
    }
}
