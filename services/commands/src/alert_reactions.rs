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
use dixian_domain::alert::{Alert, AlertEvent};
use dixian_domain::household::{
    ApplyForMonitoring, CloseLinkedAlert, Household, HouseholdCommand, LinkAlert,
};
use dixian_domain::policy::Policy;
use dixian_domain::{Actor, Command, StreamId, china_date};
use dixian_store::{BoxFuture, RecordedEvent, StreamRead};
use uuid::Uuid;

use crate::reactor::{Reactor, reaction_meta};
use crate::{CommandError, Executor, StreamRef};

/// The alert follow-ups.
pub struct AlertReactions;

/// The reactor's name (its checkpoint, and part of every command id it derives).
pub const NAME: &str = "alert-followups";

/// The reactions' names, as they enter the derived command ids.
pub const LINK: &str = "link-alert";
pub const APPLY: &str = "apply-for-monitoring";
pub const CLOSE: &str = "close-linked-alert";

impl Reactor for AlertReactions {
    fn name(&self) -> &'static str {
        NAME
    }

    fn wants(&self, e: &RecordedEvent) -> bool {
        e.stream_type == "alert"
            && matches!(
                e.event_type.as_str(),
                "AlertRaised" | "SecondRoundStudyRecorded" | "AlertClosed"
            )
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
            match event {
                AlertEvent::AlertRaised {
                    household_id: Some(household_id),
                    by,
                    at,
                    ..
                } => {
                    let link = LinkAlert { alert_id };
                    on_household(exec, e, LINK, household_id, by, at, link.into()).await
                }
                AlertEvent::SecondRoundStudyRecorded {
                    opens_identification: true,
                    application: Some(application),
                    by,
                    at,
                    ..
                } => {
                    let Some((household_id, raised_at)) = matched(exec, alert_id).await? else {
                        return Ok(());
                    };
                    let apply = ApplyForMonitoring {
                        // The application's id, like the command's, derives from the study.
                        application_id: reaction_meta(e, APPLY).command_id,
                        signed_authorisation: application.signed_authorisation,
                        clue_found_on: Some(china_date(raised_at)),
                        source_alert: Some(alert_id),
                        statement: application.statement,
                        attachments: application.attachments,
                    };
                    on_household(exec, e, APPLY, household_id, by, at, apply.into()).await
                }
                AlertEvent::AlertClosed {
                    disposition,
                    by,
                    at,
                    ..
                } => {
                    let Some((household_id, _)) = matched(exec, alert_id).await? else {
                        return Ok(());
                    };
                    let close = CloseLinkedAlert {
                        alert_id,
                        disposition: Some(disposition),
                    };
                    on_household(exec, e, CLOSE, household_id, by, at, close.into()).await
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

/// Issues one household command as the reaction `reaction` to `e`. A raise names only a
/// household of its own village, so the household lives in the alert's ledger.
async fn on_household(
    exec: &Executor,
    e: &RecordedEvent,
    reaction: &str,
    household_id: Uuid,
    by: Actor,
    at: DateTime<Utc>,
    body: HouseholdCommand,
) -> Result<(), CommandError> {
    let stream = StreamRef::in_county(StreamId::Household(household_id), &e.ledger)?;
    let province = e.ledger.get(..2).unwrap_or_default().to_owned();
    let policy = exec
        .load::<Policy>(&StreamId::Policy(province), StreamRead::default())
        .await?
        .state;
    let meta = reaction_meta(e, reaction);
    let command = Command::new(by, at, body).under(policy);
    exec.execute::<Household, _>(&stream, &meta, |_| Ok(command.clone()))
        .await?;
    Ok(())
}
