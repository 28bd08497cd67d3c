//! `decide` for households: who may, then what the rules allow.
//!
//! Every command is checked in the same order: the household exists (or, to register, does
//! not); the actor's role may issue the command and their jurisdiction covers the village;
//! the policy book is the household's province's; then the step's own input and procedure
//! rules.

use crate::actor::{Role, authorise};
use crate::command::{Aggregate, Command};
use crate::decider::Decider;
use crate::policy::PolicyBook;
use crate::region::RegionCode;

use super::{HouseholdCommand, HouseholdError, HouseholdEvent, HouseholdState};

/// The household decider.
pub struct Household;

impl Aggregate for HouseholdState {
    type Event = HouseholdEvent;
    type Error = HouseholdError;
}

impl Decider for Household {
    type Command = Command<HouseholdCommand>;
    type Event = HouseholdEvent;
    type State = HouseholdState;
    type Error = HouseholdError;

    fn decide(
        cmd: &Command<HouseholdCommand>,
        state: &HouseholdState,
    ) -> Result<Vec<HouseholdEvent>, HouseholdError> {
        let village = village_of(&cmd.body, state)?;
        authorise(&cmd.actor, cmd.body.action(), cmd.body.roles(), village)?;
        same_province(&cmd.policy, village)?;
        cmd.body.decide(&cmd.ctx(state)).map(|event| vec![event])
    }

    fn evolve(state: HouseholdState, event: &HouseholdEvent) -> HouseholdState {
        state.evolve(event)
    }
}

/// Which roles may issue a command. Auditors and spot checkers appear nowhere.
pub fn allowed_roles(cmd: &Command<HouseholdCommand>) -> &'static [Role] {
    cmd.body.roles()
}

/// The village the actor must cover: the command's for a registration, else the household's.
fn village_of<'a>(
    cmd: &'a HouseholdCommand,
    state: &'a HouseholdState,
) -> Result<&'a RegionCode, HouseholdError> {
    match (cmd, &state.registration) {
        (HouseholdCommand::RegisterHousehold(_), Some(_)) => Err(HouseholdError::AlreadyRegistered),
        (HouseholdCommand::RegisterHousehold(r), None) => Ok(&r.village),
        (_, Some(registration)) => Ok(&registration.village),
        (_, None) => Err(HouseholdError::NotRegistered),
    }
}

fn same_province(policy: &PolicyBook, village: &RegionCode) -> Result<(), HouseholdError> {
    match &policy.province {
        Some(province) if province.as_str() != village.province() => {
            Err(HouseholdError::PolicyProvinceMismatch {
                policy: province.clone(),
                household: village.province().to_owned(),
            })
        }
        _ => Ok(()),
    }
}
