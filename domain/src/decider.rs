//! The decider pattern: every aggregate is a pair of pure functions.

/// An aggregate as two pure functions over its own event stream.
///
/// `decide` holds every check and returns the facts to append (or the broken rule);
/// `evolve` folds one fact into the state and is total: it never fails and never panics,
/// because facts already in the log cannot be refused.
pub trait Decider {
    type Command;
    type Event;
    type State: Default;
    type Error;

    fn decide(cmd: &Self::Command, state: &Self::State) -> Result<Vec<Self::Event>, Self::Error>;

    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;

    /// Keys a stream in `state` holds alone in its ledger (see `dixian_store::Claim`): an
    /// append that would make a second stream hold one is refused and names the first. The
    /// default holds none.
    fn unique_keys(_state: &Self::State) -> Vec<String> {
        Vec::new()
    }

    /// Whether [`unique_keys`](Self::unique_keys) can hold anything: saves the fold of decided
    /// events for aggregates that never hold a key.
    const HOLDS_KEYS: bool = false;

    /// The state after a stream's events, from the empty state.
    fn replay<'a, I>(events: I) -> Self::State
    where
        I: IntoIterator<Item = &'a Self::Event>,
        Self::Event: 'a,
    {
        events
            .into_iter()
            .fold(Self::State::default(), |state, event| {
                Self::evolve(state, event)
            })
    }
}
