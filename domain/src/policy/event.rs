use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::region::RegionCode;

use super::PolicyRules;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
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

impl PolicyEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::MonitoringLineSet { .. } => "MonitoringLineSet",
            Self::PolicyRulesSet { .. } => "PolicyRulesSet",
        }
    }
}
