//! One given/when/then helper for every decider.

use std::fmt::Debug;

use crate::decider::Decider;

pub(crate) struct Given<D: Decider> {
    state: D::State,
}

pub(crate) struct When<D: Decider> {
    result: Result<Vec<D::Event>, D::Error>,
}

/// The state after `events`, ready for a command.
pub(crate) fn given<D: Decider>(events: &[D::Event]) -> Given<D> {
    Given {
        state: D::replay(events),
    }
}

impl<D: Decider> Given<D> {
    pub(crate) fn when(self, command: D::Command) -> When<D> {
        When {
            result: D::decide(&command, &self.state),
        }
    }
}

impl<D: Decider> When<D>
where
    D::Event: Debug + PartialEq,
    D::Error: Debug + PartialEq,
{
    #[track_caller]
    pub(crate) fn then(self, expected: Result<Vec<D::Event>, D::Error>) {
        assert_eq!(self.result, expected);
    }

    /// For outcomes whose full value is long (every ineligibility reason): just the events.
    #[track_caller]
    pub(crate) fn then_ok(self) -> Vec<D::Event> {
        match self.result {
            Ok(events) => events,
            Err(error) => panic!("expected events, got {error:?}"),
        }
    }

    #[track_caller]
    pub(crate) fn then_err(self) -> D::Error {
        match self.result {
            Ok(events) => panic!("expected an error, got {events:?}"),
            Err(error) => error,
        }
    }
}
