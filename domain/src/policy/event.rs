use crate::macros::events;
use chrono::{DateTime, NaiveDate, Utc};

use crate::actor::Actor;
use crate::region::RegionCode;

use super::PolicyRules;

events! {
/// A fact of a province's policy stream.
pub enum PolicyEvent {
    MonitoringLineSet {
        province: RegionCode,
        year: i32,
        amount_fen: i64,
        effective_from: NaiveDate,
        #[serde(default)]
        basis: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    PolicyRulesSet {
        province: RegionCode,
        rules: PolicyRules,
        effective_from: NaiveDate,
        #[serde(default)]
        basis: String,
        by: Actor,
        at: DateTime<Utc>,
    },
}
}
