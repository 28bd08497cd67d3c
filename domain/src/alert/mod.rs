//! One early warning (stream `alert-<uuid>`, 研判预警) and its closed loop: raised → the
//! village's first-round feedback → the township's second-round study (一户一档一研究一措施)
//! → closed with a recorded disposition. Deadlines come from the policy in force when the alert
//! is raised; a late step is flagged, never refused; an overdue alert can be escalated.
//!
//! Duplicates are linked, not repeated: before raising, the service asks [`dedup`] whether an
//! open alert already covers the same household and trigger, and if so records
//! [`ReportDuplicate`] on that alert instead.

mod command;
mod decide;
mod dedup;
mod error;
mod event;
mod state;
mod steps;

pub use command::AlertCommand;
pub use decide::{Alert, allowed_roles};
pub use dedup::{Dedup, OpenAlertSummary, dedup, open_alert_key};
pub use error::AlertError;
pub use event::AlertEvent;
pub use state::{
    AlertRound, AlertSource, AlertState, AlertStatus, Department, Escalation, FirstRound,
    RaisedAlert, Severity, Study,
};
pub use steps::*;
