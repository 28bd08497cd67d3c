//! One given/when/then helper for every decider.

use std::fmt::Debug;

use dixian_domain::Decider;

pub struct Given<D: Decider> {
    state: D::State,
}

pub struct When<D: Decider> {
    result: Result<Vec<D::Event>, D::Error>,
}

/// The state after `events`, ready for a command.
pub fn given<D: Decider>(events: &[D::Event]) -> Given<D> {
    Given {
        state: D::replay(events),
    }
}

impl<D: Decider> Given<D> {
    pub fn when(self, command: impl Into<D::Command>) -> When<D> {
        When {
            result: D::decide(&command.into(), &self.state),
        }
    }
}

impl<D: Decider> When<D>
where
    D::Event: Debug + PartialEq,
    D::Error: Debug + PartialEq,
{
    #[track_caller]
    pub fn then(self, expected: Result<Vec<D::Event>, D::Error>) {
        assert_eq!(self.result, expected);
    }

    /// For outcomes whose full value is long (every ineligibility reason): just the events.
    #[track_caller]
    pub fn then_ok(self) -> Vec<D::Event> {
        match self.result {
            Ok(events) => events,
            Err(error) => panic!("expected events, got {error:?}"),
        }
    }

    #[track_caller]
    pub fn then_err(self) -> D::Error {
        match self.result {
            Ok(events) => panic!("expected an error, got {events:?}"),
            Err(error) => error,
        }
    }
}
