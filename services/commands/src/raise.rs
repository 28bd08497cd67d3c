//! 预警 — raising an alert, with deduplication: a warning that repeats an open alert about the
//! same household (same trigger code) is recorded on that alert (`ReportDuplicate`) instead of
//! opening a new one.
//!
//! Exact without a lock and without waiting for a read model: an open alert about a household
//! holds its deduplication key in the log's claim index (`Decider::unique_keys`, written in the
//! append transaction). A raise looks the key up; if an alert holds it the warning goes there,
//! otherwise the new alert is appended taking the key. Two identical warnings that both found
//! the key free cannot both take it: the log refuses the second append and names the holder,
//! and that raise goes round again and lands on the first. Each step uses one pooled connection
//! and gives it back before the next (the rule of `docs/decisions.md`, "one connection at a
//! time").

use dixian_domain::alert::{Alert, AlertCommand, open_alert_key};
use dixian_domain::{Command, StreamId};
use dixian_store::Appended;
use uuid::Uuid;

use crate::{CommandError, CommandMeta, Executor, StreamRef};

/// Rounds of "look up the holder, append" before a raise gives up with `CONFLICT`: each round
/// that fails does so because another raise or close about the same key landed in between.
const ROUNDS: usize = 8;

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
    stream: &StreamRef,
    meta: &CommandMeta,
    raise: &Command<AlertCommand>,
) -> Result<Raised, CommandError> {
    let Some(alert_id) = stream.id.uuid() else {
        return Err(CommandError::internal("an alert stream has an id"));
    };
    // The deduplication key of a raise that names a household.
    let key = match &raise.body {
        AlertCommand::RaiseAlert(r) => r
            .household_id
            .map(|household| open_alert_key(household, &r.trigger_code)),
        _ => None,
    };
    let Some(key) = key else {
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
    // A key the log cannot hold (a trigger code with U+0000, or far too long) has no holder:
    // the raise goes to the domain and the log, whose refusals name the field at fault.
    let indexable = dixian_store::append::claim_key_problem(&key).is_none();
    for _ in 0..ROUNDS {
        let holder = match indexable {
            true => exec.store().claim_holder(&stream.ledger, &key).await?,
            false => None,
        };
        let outcome = match holder.as_deref().and_then(StreamId::parse) {
            Some(open) => record_duplicate(exec, open, meta, raise).await,
            None => exec
                .execute_unanswered::<Alert, _>(stream, meta, |_| Ok(raise.clone()))
                .await
                .map(|appended| Raised {
                    appended,
                    alert_id,
                    linked_to: None,
                }),
        };
        match outcome {
            // The holder closed, or another raise took the key, since it was looked up.
            Err(CommandError::Refused(r)) if r.code == "ALERT_CLOSED" => continue,
            Err(CommandError::Conflict(_)) => continue,
            other => return other,
        }
    }
    Err(CommandError::Conflict(
        "alerts about this household keep changing; retry".into(),
    ))
}

/// Records the warning on the open alert that holds its key.
async fn record_duplicate(
    exec: &Executor,
    open: StreamId,
    meta: &CommandMeta,
    raise: &Command<AlertCommand>,
) -> Result<Raised, CommandError> {
    let Some(existing) = open.uuid() else {
        return Err(CommandError::internal("an alert key is held by an alert"));
    };
    let target = exec.existing(open, "alert").await?;
    let report = raise
        .duplicate_report()
        .ok_or_else(|| CommandError::internal("a raise has a duplicate report"))?;
    let appended = exec
        .execute_unanswered::<Alert, _>(&target, meta, |_| Ok(report.clone()))
        .await?;
    Ok(Raised {
        appended,
        alert_id: existing,
        linked_to: Some(existing),
    })
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
