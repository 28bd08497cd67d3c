use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::YearMonth;
use crate::region::RegionCode;

use super::PolicyRules;

/// 监测线 — the per-capita yearly net income line, in fen, from a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitoringLine {
    /// The year the province published it for (informative; lookup is by date).
    pub year: i32,
    pub amount_fen: i64,
    pub effective_from: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatedRules {
    pub rules: PolicyRules,
    pub effective_from: NaiveDate,
}

/// The state of a province's policy stream: every dated value ever set, in log order.
///
/// Lookups take the entry with the latest `effective_from` on or before the date; of two
/// entries with the same date, the one set later wins (a correction).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyBook {
    pub province: Option<RegionCode>,
    pub lines: Vec<MonitoringLine>,
    pub rules: Vec<DatedRules>,
}

impl PolicyBook {
    /// The rules in force on `date`. Before any province rules exist, the national 2023
    /// numbers apply: the national guide is the floor every province starts from.
    pub fn rules_in_force(&self, date: NaiveDate) -> PolicyRules {
        latest(&self.rules, date, |r| r.effective_from)
            .map_or_else(PolicyRules::national_2023, |r| r.rules)
    }

    /// The monitoring line entry in force on `date`, if the province has set one by then.
    pub fn monitoring_line_entry(&self, date: NaiveDate) -> Option<&MonitoringLine> {
        latest(&self.lines, date, |l| l.effective_from)
    }

    /// The monitoring line in fen in force on `date`.
    pub fn monitoring_line(&self, date: NaiveDate) -> Option<i64> {
        self.monitoring_line_entry(date).map(|l| l.amount_fen)
    }

    /// The line an income window ending in `month` is compared with: the one in force on the
    /// window's last day.
    pub fn line_for_month(&self, month: YearMonth) -> Option<i64> {
        self.monitoring_line(month.last_day())
    }
}

fn latest<T>(items: &[T], date: NaiveDate, from: impl Fn(&T) -> NaiveDate) -> Option<&T> {
    items
        .iter()
        .filter(|item| from(item) <= date)
        .fold(None, |best: Option<&T>, item| match best {
            Some(b) if from(b) > from(item) => Some(b),
            _ => Some(item),
        })
}
