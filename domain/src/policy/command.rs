use chrono::{DateTime, NaiveDate, Utc};

use crate::actor::Actor;
use crate::region::RegionCode;

use super::PolicyRules;

#[derive(Debug, Clone, PartialEq)]
pub enum PolicyCommand {
    /// 设定监测线 — set the province's monitoring line from a date.
    SetMonitoringLine {
        actor: Actor,
        at: DateTime<Utc>,
        province: RegionCode,
        year: i32,
        amount_fen: i64,
        effective_from: NaiveDate,
        /// Where the number comes from (the provincial document).
        basis: String,
    },
    /// 设定程序规则 — set the procedural numbers from a date.
    SetPolicyRules {
        actor: Actor,
        at: DateTime<Utc>,
        province: RegionCode,
        rules: PolicyRules,
        effective_from: NaiveDate,
        basis: String,
    },
}
