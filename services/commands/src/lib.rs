//! Commands on their way to the log, and reactions to what the log records.
//!
//! - [`exec`] — one command against one stream: fold the stream, decide, append with the version
//!   just read (retrying a lost race on the new state), idempotent by command id.
//! - [`stream`] — a stream's id and home ledger.
//! - [`reactor`] — checkpointed followers of the ledger feeds that issue commands ("when X is
//!   recorded, do Y"), each command's id derived from the triggering event, so that a reaction
//!   happens exactly once whatever crashes, restarts or extra server processes.
//! - [`alert_reactions`] — the alert's follow-ups on the household's file.
//! - [`raise`] — raising an alert with deduplication against the open alerts of its household.
//!
//! What this crate does not do: parse client input or shape answers (that is the API), or
//! decide anything (that is the domain).

#![forbid(unsafe_code)]

pub mod alert_reactions;
pub mod error;
pub mod exec;
pub mod raise;
pub mod reactor;
pub mod stream;

pub use error::CommandError;
pub use exec::{CommandMeta, Executor, Loaded};
pub use reactor::{FollowUp, Reactor, Reactors};
pub use stream::StreamRef;
