//! Policy as configuration with effective dates (stream `policy-<province>`).
//!
//! The numbers policy sets (monitoring line, deadlines, minimum months) are events with an
//! effective date, never constants, so the same history is always judged by the rules in force
//! at the time. Commands that need policy carry the province's [`PolicyBook`] and the domain
//! picks the rules in force at the command's own business date.

mod book;
mod command;
mod decide;
mod error;
mod event;
mod rules;
mod shandong;

pub use book::{DatedRules, MonitoringLine, PolicyBook};
pub use command::{PolicyCommand, SetMonitoringLine, SetPolicyRules};
pub use decide::Policy;
pub use error::PolicyError;
pub use event::PolicyEvent;
pub use rules::PolicyRules;
pub use shandong::{SHANDONG, shandong_defaults};
