//! 研判预警's consequences on the household's file, as reactions (each exactly once):
//!
//! | alert event | household command |
//! |---|---|
//! | `AlertRaised` naming a household | `LinkAlert` — the file knows its open alerts; removal waits for them |
//! | `SecondRoundStudyRecorded` starting identification, with the household's application | `ApplyForMonitoring` with `source_alert`, the clue dated when the alert was raised |
//! | `AlertClosed` of an alert naming a household | `CloseLinkedAlert` with the disposition |
//!
//! Each is issued in the name of whoever recorded the alert event, at that event's business
//! time, under the household's province's policy.

use chrono::{DateTime, Utc};
use dixian_domain::alert::{Alert, AlertCommand, AlertEvent};
use dixian_domain::household::{
    ApplyForMonitoring, CloseLinkedAlert, Household, HouseholdCommand, LinkAlert,
};
use dixian_domain::policy::Policy;
use dixian_domain::vocab::StudyDecision;
use dixian_domain::{Actor, Command, StreamId, china_date};
use dixian_store::{BoxFuture, RecordedEvent, StreamRead};
use uuid::Uuid;

use crate::reactor::{Reactor, reaction_meta};
use crate::{CommandError, Executor, StreamRef};

/// The alert follow-ups.
pub struct AlertReactions;

/// The reactor's name (its checkpoint, and part of every command id it derives).
pub const NAME: &str = "alert-followups";

/// One follow-up on the household's file: the one table of them, used by the reactor (which
/// alert event calls for which), by the alert mutations and the demo (which follow-up a command
/// they ran will call for, to wait on it) and for the names in derived ids and answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUpKind {
    /// `AlertRaised` naming a household → `LinkAlert`.
    Link,
    /// `SecondRoundStudyRecorded` starting identification with the household's application →
    /// `ApplyForMonitoring`.
    Apply,
    /// `AlertClosed` → `CloseLinkedAlert` (nothing when the alert names no household).
    Close,
}

impl FollowUpKind {
    /// Its name in derived command ids: never change one (stored ids derive from it).
    pub const fn reaction(self) -> &'static str {
        match self {
            Self::Link => "link-alert",
            Self::Apply => "apply-for-monitoring",
            Self::Close => "close-linked-alert",
        }
    }

    /// The household command it issues, as the API names it.
    pub const fn command(self) -> &'static str {
        match self {
            Self::Link => "linkAlert",
            Self::Apply => "applyForMonitoring",
            Self::Close => "closeLinkedAlert",
        }
    }

    /// The follow-up an alert event calls for.
    pub fn of(event: &AlertEvent) -> Option<Self> {
        match event {
            AlertEvent::AlertRaised {
                household_id: Some(_),
                ..
            } => Some(Self::Link),
            AlertEvent::SecondRoundStudyRecorded {
                opens_identification: true,
                application: Some(_),
                ..
            } => Some(Self::Apply),
            AlertEvent::AlertClosed { .. } => Some(Self::Close),
            _ => None,
        }
    }

    /// The follow-up a command on an alert calls for once its event is recorded, for a caller
    /// that waits on it (a study's application is kept only for a matched household: the
    /// reaction then finds nothing to do, and says so). Kept equal to [`of`](Self::of) over
    /// the decided events by a test.
    pub fn after(command: &AlertCommand) -> Option<Self> {
        match command {
            AlertCommand::RaiseAlert(r) if r.household_id.is_some() => Some(Self::Link),
            AlertCommand::RecordSecondRoundStudy(s)
                if s.decision == StudyDecision::StartIdentification && s.application.is_some() =>
            {
                Some(Self::Apply)
            }
            AlertCommand::CloseAlert(_) => Some(Self::Close),
            _ => None,
        }
    }
}

impl Reactor for AlertReactions {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Every alert event: which ones call for a follow-up is [`FollowUpKind::of`] on the
    /// decoded event, not a match on type names.
    fn wants(&self, e: &RecordedEvent) -> bool {
        e.stream_type == "alert"
    }

    fn react<'a>(
        &'a self,
        exec: &'a Executor,
        e: &'a RecordedEvent,
    ) -> BoxFuture<'a, Result<(), CommandError>> {
        Box::pin(async move {
            let Some(StreamId::Alert(alert_id)) = StreamId::parse(&e.stream_id) else {
                return Ok(());
            };
            let event: AlertEvent = e.decode().map_err(|err| {
                CommandError::internal(format!("alert event {} does not decode: {err}", e.seq))
            })?;
            let Some(kind) = FollowUpKind::of(&event) else {
                return Ok(());
            };
            match (kind, event) {
                (
                    FollowUpKind::Link,
                    AlertEvent::AlertRaised {
                        household_id: Some(household_id),
                        by,
                        at,
                        ..
                    },
                ) => {
                    let link = LinkAlert { alert_id };
                    on_household(exec, e, kind, household_id, by, at, link.into()).await
                }
                (
                    FollowUpKind::Apply,
                    AlertEvent::SecondRoundStudyRecorded {
                        application: Some(application),
                        by,
                        at,
                        ..
                    },
                ) => {
                    let Some((household_id, raised_at)) = matched(exec, alert_id).await? else {
                        return Ok(());
                    };
                    let apply = ApplyForMonitoring {
                        // The application's id, like the command's, derives from the study.
                        application_id: reaction_meta(e, kind.reaction()).command_id,
                        signed_authorisation: application.signed_authorisation,
                        clue_found_on: Some(china_date(raised_at)),
                        source_alert: Some(alert_id),
                        statement: application.statement,
                        attachments: application.attachments,
                    };
                    on_household(exec, e, kind, household_id, by, at, apply.into()).await
                }
                (
                    FollowUpKind::Close,
                    AlertEvent::AlertClosed {
                        disposition,
                        by,
                        at,
                        ..
                    },
                ) => {
                    let Some((household_id, _)) = matched(exec, alert_id).await? else {
                        return Ok(());
                    };
                    let close = CloseLinkedAlert {
                        alert_id,
                        disposition: Some(disposition),
                    };
                    on_household(exec, e, kind, household_id, by, at, close.into()).await
                }
                _ => Ok(()),
            }
        })
    }
}

/// The household an alert names and when it was raised (`None`: it names none). What the
/// raise said never changes, so the alert's current fold answers for any of its events.
async fn matched(
    exec: &Executor,
    alert_id: Uuid,
) -> Result<Option<(Uuid, DateTime<Utc>)>, CommandError> {
    let alert = exec
        .load::<Alert>(&StreamId::Alert(alert_id), StreamRead::default())
        .await?
        .state;
    Ok(alert
        .raised
        .and_then(|r| r.household_id.map(|h| (h, r.raised_at))))
}

/// Issues one household command as the follow-up `kind` to `e`. A raise names only a
/// household of its own village, so the household lives in the alert's ledger.
async fn on_household(
    exec: &Executor,
    e: &RecordedEvent,
    kind: FollowUpKind,
    household_id: Uuid,
    by: Actor,
    at: DateTime<Utc>,
    body: HouseholdCommand,
) -> Result<(), CommandError> {
    let stream = StreamRef::in_county(StreamId::Household(household_id), &e.ledger)?;
    let province = stream.province();
    let policy = exec
        .load::<Policy>(&StreamId::Policy(province), StreamRead::default())
        .await?
        .state;
    let meta = reaction_meta(e, kind.reaction());
    let command = Command::new(by, at, body).under(policy);
    exec.execute::<Household, _>(&stream, &meta, |_| Ok(command.clone()))
        .await?;
    Ok(())
}
