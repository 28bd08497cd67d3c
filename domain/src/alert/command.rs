//! What people ask of an alert: one arm per step (structs and rules in `steps`), carried in the
//! common [`Command`](crate::command::Command) envelope.

use crate::command::{Command, commands};

use super::state::AlertState;
use super::steps::*;

commands! {
    pub enum AlertCommand for AlertState {
        RaiseAlert(RaiseAlert),
        ReportDuplicate(ReportDuplicate),
        RecordFirstRoundFeedback(RecordFirstRoundFeedback),
        RecordSecondRoundStudy(RecordSecondRoundStudy),
        CloseAlert(CloseAlert),
        EscalateAlert(EscalateAlert),
    }
}

impl Command<AlertCommand> {
    /// A raise turned into the `ReportDuplicate` to record on the open alert
    /// [`dedup`](super::dedup()) found; `None` for other commands.
    pub fn duplicate_report(&self) -> Option<Command<AlertCommand>> {
        match &self.body {
            AlertCommand::RaiseAlert(raise) => Some(Command {
                actor: self.actor.clone(),
                at: self.at,
                policy: self.policy.clone(),
                body: raise.duplicate_report().into(),
            }),
            _ => None,
        }
    }
}
