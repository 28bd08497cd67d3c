//! What every event of every aggregate can say about itself.

use chrono::{DateTime, Utc};

/// A fact as the log stores it: a type name beside the body, and the business time it carries.
pub trait Fact {
    /// The type name the log stores beside the body.
    fn event_type(&self) -> &'static str;
    /// When it happened (business time), as opposed to when the log learnt it.
    fn at(&self) -> DateTime<Utc>;
}
