use crate::actor::{Role, authorise};
use crate::command::{Aggregate, Command};
use crate::decider::Decider;

use super::command::AlertCommand;
use super::error::AlertError;
use super::event::AlertEvent;
use super::state::AlertState;

/// The alert decider.
pub struct Alert;

impl Aggregate for AlertState {
    type Event = AlertEvent;
    type Error = AlertError;
}

impl Decider for Alert {
    type Command = Command<AlertCommand>;
    type Event = AlertEvent;
    type State = AlertState;
    type Error = AlertError;

    const HOLDS_KEYS: bool = true;

    /// An open alert about a household holds its deduplication key, so a second alert about
    /// the same household and trigger cannot open while it is open.
    fn unique_keys(state: &AlertState) -> Vec<String> {
        state
            .summary()
            .and_then(|open| {
                let household = open.household_id?;
                Some(super::dedup::open_alert_key(household, &open.trigger_code))
            })
            .into_iter()
            .collect()
    }

    fn decide(
        cmd: &Command<AlertCommand>,
        state: &AlertState,
    ) -> Result<Vec<AlertEvent>, AlertError> {
        let village = match (&cmd.body, &state.raised) {
            (AlertCommand::RaiseAlert(_), Some(_)) => return Err(AlertError::AlreadyRaised),
            (AlertCommand::RaiseAlert(raise), None) => &raise.village,
            (_, Some(raised)) => &raised.village,
            (_, None) => return Err(AlertError::NotRaised),
        };
        authorise(&cmd.actor, cmd.body.action(), cmd.body.roles(), village)?;
        if state.closed_at.is_some() {
            return Err(AlertError::Closed);
        }
        if let Some(province) = &cmd.policy.province
            && province.as_str() != village.province()
        {
            return Err(AlertError::PolicyProvinceMismatch {
                policy: province.clone(),
                village: village.province().to_owned(),
            });
        }
        cmd.body.decide(&cmd.ctx(state)).map(|event| vec![event])
    }

    fn evolve(state: AlertState, event: &AlertEvent) -> AlertState {
        state.evolve(event)
    }
}

/// Which roles may issue a command.
pub fn allowed_roles(cmd: &Command<AlertCommand>) -> &'static [Role] {
    cmd.body.roles()
}
