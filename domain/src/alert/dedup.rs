use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::command::AlertCommand;
use crate::command::Command;

/// An open alert as deduplication sees it (from [`AlertState::summary`] or a read model).
///
/// [`AlertState::summary`]: super::AlertState::summary
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenAlertSummary {
    pub alert_id: Uuid,
    pub household_id: Option<Uuid>,
    pub trigger_code: String,
    pub raised_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dedup {
    /// Raise it: no open alert covers it.
    New,
    /// Record a `ReportDuplicate` on this open alert instead.
    LinkTo(Uuid),
}

/// Whether a `RaiseAlert` repeats an open alert: same matched household and same trigger code
/// (trimmed, case-insensitive). The oldest such alert wins, so repeated feeds always land on the
/// same one. Alerts not matched to a household are never merged: without a household there is
/// no reliable key, and a missed warning costs more than a duplicate.
pub fn dedup(open_alerts: &[OpenAlertSummary], new: &Command<AlertCommand>) -> Dedup {
    let AlertCommand::RaiseAlert(new) = &new.body else {
        return Dedup::New;
    };
    let Some(household_id) = new.household_id else {
        return Dedup::New;
    };
    let key = normalise(&new.trigger_code);
    open_alerts
        .iter()
        .filter(|a| a.household_id == Some(household_id) && normalise(&a.trigger_code) == key)
        .min_by_key(|a| (a.raised_at, a.alert_id))
        .map_or(Dedup::New, |a| Dedup::LinkTo(a.alert_id))
}

/// The key the open alert about `household` for `trigger_code` holds in its ledger (see
/// [`Decider::unique_keys`](crate::decider::Decider::unique_keys)): what [`dedup`] compares,
/// as one string.
pub fn open_alert_key(household: Uuid, trigger_code: &str) -> String {
    format!("alert-open/{household}/{}", normalise(trigger_code))
}

fn normalise(code: &str) -> String {
    code.trim().to_uppercase()
}
