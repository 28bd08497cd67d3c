//! What every test of Dixian (and the demo and the bench) builds on, written once:
//!
//! - [`given`] — given(events) / when(command) / then(events or error), for any decider;
//! - [`actors`] — one user of each role, the village above them, the township and county;
//! - [`calendar`] — the story's days (`day(n)`, `date_of(n)`), dates and months;
//! - [`household`] — a builder per household command and [`household::Story`], the procedure
//!   walks (registered → monitored → eligible → removed) that decide every step on the way.
//!
//! Everything here is pure and deterministic: ids are `Uuid::from_u128(n)`, times are fixed.

#![forbid(unsafe_code)]

pub mod actors;
pub mod calendar;
pub mod given;
pub mod household;

pub use actors::*;
pub use calendar::*;
pub use given::{Given, When};
