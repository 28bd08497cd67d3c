//! The Dixian (底线) domain: dynamic monitoring of rural households at risk of falling back
//! into poverty (防止返贫动态监测和帮扶), as pure decisions.
//!
//! **No I/O, no clock, no randomness.** Business time, new ids and the policy in force arrive
//! inside commands; `decide(command, state)` returns events or an error naming the broken rule,
//! and `evolve(state, event)` folds facts into state without ever failing.
//!
//! Aggregates (one event stream each):
//! - [`household`] — the case file of one household (`household-<uuid>`): members, income,
//!   living conditions, visits, identification (识别纳入), assistance (帮扶), risk removal
//!   (风险消除), rollback and re-entry.
//! - [`alert`] — one early warning (`alert-<uuid>`, 研判预警) through its two rounds to a
//!   recorded disposition.
//! - [`policy`] — a province's effective-dated rules and monitoring lines (`policy-<province>`).
//!
//! Value types: [`region`] codes and grids, resident [`id_card`] numbers, [`sealed`] personal
//! data, [`attachment`] hashes, [`money`] in integer fen, [`calendar`] months and China dates,
//! and the shared [`vocab`]ulary of codes with Chinese labels.
#![forbid(unsafe_code)]

mod macros;

pub mod actor;
pub mod alert;
pub mod attachment;
pub mod calendar;
pub mod command;
pub mod decider;
pub mod error;
pub mod event;
pub mod household;
pub mod id_card;
pub mod money;
pub mod policy;
pub mod region;
pub mod region_registry;
pub mod sealed;
pub mod stream;
pub mod user;
pub mod vocab;

pub use actor::{AccessError, Actor, Role};
pub use attachment::AttachmentHash;
pub use calendar::{YearMonth, china_date};
pub use command::{Command, Ctx, Step};
pub use decider::Decider;
pub use error::{DomainError, ErrorKind, FieldError, InputRule};
pub use event::Fact;
pub use id_card::{IdNumber, IdNumberError};
pub use region::{GridId, RegionCode, RegionError, RegionLevel};
pub use sealed::Sealed;
pub use stream::StreamId;
