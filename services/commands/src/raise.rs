//! 预警 — raising an alert, with deduplication: a warning that repeats an open alert about the
//! same household (same trigger code) is recorded on that alert (`ReportDuplicate`) instead of
//! opening a new one.
//!
//! Raises about one household are serialised (an advisory lock, across server processes).
//! Under the lock the casework projection is brought up to the ledger's head (bounded wait),
//! so every raise committed before this one is in the alert queue it reads: two identical
//! warnings arriving together cannot both become new alerts. If the projection cannot catch up
//! in time the raise goes ahead on what the queue knows — a duplicate alert costs less than a
//! refused warning.

use std::time::Duration;

use dixian_domain::alert::{Alert, AlertCommand, Dedup, dedup};
use dixian_domain::{Command, StreamId};
use dixian_projections::Runner;
use dixian_projections::casework::queries;
use dixian_store::lock::{self, Section};
use dixian_store::{Appended, read};
use uuid::Uuid;

use crate::{CommandError, CommandMeta, Executor, StreamRef};

/// How long a raise waits for another raise about the same household.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// How long a raise waits for the alert queue to reach the ledger's head.
const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// What a raise did.
#[derive(Debug, Clone)]
pub struct Raised {
    pub appended: Appended,
    /// The alert the warning is now on: the new one, or the open alert it repeated.
    pub alert_id: Uuid,
    /// Set when the warning repeated an open alert and was recorded on it.
    pub linked_to: Option<Uuid>,
}

/// Raises `raise` on `stream` (its own alert stream), or records it on the open alert it
/// repeats.
pub async fn raise_alert(
    exec: &Executor,
    casework: &Runner,
    stream: &StreamRef,
    meta: &CommandMeta,
    raise: &Command<AlertCommand>,
) -> Result<Raised, CommandError> {
    let Some(alert_id) = stream.id.uuid() else {
        return Err(CommandError::internal("an alert stream has an id"));
    };
    let household_id = match &raise.body {
        AlertCommand::RaiseAlert(r) => r.household_id,
        _ => None,
    };
    let Some(household_id) = household_id else {
        let appended = exec
            .execute::<Alert, _>(stream, meta, |_| Ok(raise.clone()))
            .await?;
        return Ok(Raised {
            appended,
            alert_id,
            linked_to: None,
        });
    };

    // A replay answers as the first time: a new alert, or the alert it was recorded on.
    if let Some(answer) = replay(exec, stream, meta).await? {
        return Ok(answer);
    }
    let guard = lock::exclusive(exec.pool(), Section::AlertRaise, household_id, LOCK_WAIT)
        .await?
        .ok_or_else(|| {
            CommandError::Conflict(
                "another alert about this household is being raised; retry".into(),
            )
        })?;
    let result = raise_under_lock(exec, casework, stream, meta, raise, household_id).await;
    // Releasing can only fail with the connection, which rolls back (and unlocks) anyway.
    let _ = guard.release().await;
    result
}

async fn replay(
    exec: &Executor,
    stream: &StreamRef,
    meta: &CommandMeta,
) -> Result<Option<Raised>, CommandError> {
    let Some((hash, appended)) = exec
        .store()
        .find_command(&stream.ledger, meta.command_id)
        .await?
    else {
        return Ok(None);
    };
    if hash != meta.fingerprint {
        return Err(CommandError::BadInput {
            field: "commandId".into(),
            message: "this command id was already used for a different request".into(),
        });
    }
    let landed = StreamId::parse(&appended.stream_id)
        .and_then(|s| s.uuid())
        .ok_or_else(|| CommandError::internal("a raise lands on an alert stream"))?;
    let linked_to = (appended.stream_id != stream.text()).then_some(landed);
    Ok(Some(Raised {
        appended,
        alert_id: landed,
        linked_to,
    }))
}

async fn raise_under_lock(
    exec: &Executor,
    casework: &Runner,
    stream: &StreamRef,
    meta: &CommandMeta,
    raise: &Command<AlertCommand>,
    household_id: Uuid,
) -> Result<Raised, CommandError> {
    let head = {
        let mut conn = exec.pool().acquire().await?;
        read::ledger_head(&mut conn, stream.ledger.as_str())
            .await?
            .map_or(0, |h| h.last_seq)
    };
    if !casework
        .wait_for("casework", stream.ledger.as_str(), head, QUEUE_WAIT)
        .await?
    {
        tracing::warn!(ledger = %stream.ledger.as_str(), head, "alert queue behind the ledger; deduplicating on what it has");
    }
    let mut open = queries::open_alerts_of(exec.pool(), household_id).await?;
    // An alert found open may close before the duplicate lands on it: then the next candidate,
    // until none is left and a new alert is raised.
    while let Dedup::LinkTo(existing) = dedup(&open, raise) {
        let target = exec.existing(StreamId::Alert(existing), "alert").await?;
        let report = raise
            .duplicate_report()
            .ok_or_else(|| CommandError::internal("a raise has a duplicate report"))?;
        match exec
            .execute::<Alert, _>(&target, meta, |_| Ok(report.clone()))
            .await
        {
            Ok(appended) => {
                return Ok(Raised {
                    appended,
                    alert_id: existing,
                    linked_to: Some(existing),
                });
            }
            Err(CommandError::Refused(r)) if r.code == "ALERT_CLOSED" => {
                open.retain(|a| a.alert_id != existing)
            }
            Err(e) => return Err(e),
        }
    }
    let appended = exec
        .execute::<Alert, _>(stream, meta, |_| Ok(raise.clone()))
        .await?;
    Ok(Raised {
        appended,
        alert_id: stream.id.uuid().unwrap_or_default(),
        linked_to: None,
    })
}
