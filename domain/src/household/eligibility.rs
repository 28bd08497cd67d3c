//! 风险消除条件 — whether a monitored household may leave monitoring, with every reason it may
//! not. Used by `ProposeRemoval` and `ApproveRemoval`, and by the `removalEligibility` query.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calendar::{YearMonth, china_date};
use crate::policy::{PolicyBook, PolicyRules};
use crate::vocab::{LivingCondition, RiskType};

use super::state::{HouseholdState, MonitoringStatus};

/// The verdict, with all failing reasons at once (宽进严出: the village sees everything it
/// still has to do, not one refusal at a time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eligibility {
    pub eligible: bool,
    pub reasons: Vec<IneligibilityReason>,
}

/// One unmet removal condition. Serialised with its `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IneligibilityReason {
    NotMonitored,
    MonitoredTooShort {
        required_months: u32,
        approved_on: NaiveDate,
        eligible_from: NaiveDate,
    },
    RiskWithoutMeasure {
        risk_type: RiskType,
    },
    IncomeNotStablyAboveLine {
        required_months: u32,
        months_above: u32,
        latest_month: Option<YearMonth>,
    },
    NoMonitoringLine {
        month: YearMonth,
    },
    LivingConditionsNotAssessed,
    LivingConditionsNotSecure {
        insecure: Vec<LivingCondition>,
    },
    OpenAlerts {
        alert_ids: Vec<Uuid>,
    },
    NoLabourCapacity,
}

impl IneligibilityReason {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotMonitored => "NOT_MONITORED",
            Self::MonitoredTooShort { .. } => "MONITORED_TOO_SHORT",
            Self::RiskWithoutMeasure { .. } => "RISK_WITHOUT_MEASURE",
            Self::IncomeNotStablyAboveLine { .. } => "INCOME_NOT_STABLY_ABOVE_LINE",
            Self::NoMonitoringLine { .. } => "NO_MONITORING_LINE",
            Self::LivingConditionsNotAssessed => "LIVING_CONDITIONS_NOT_ASSESSED",
            Self::LivingConditionsNotSecure { .. } => "LIVING_CONDITIONS_NOT_SECURE",
            Self::OpenAlerts { .. } => "OPEN_ALERTS",
            Self::NoLabourCapacity => "NO_LABOUR_CAPACITY",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            Self::NotMonitored => "该户不是监测对象".to_owned(),
            Self::MonitoredTooShort {
                required_months,
                eligible_from,
                ..
            } => format!("纳入监测不满{required_months}个月，{eligible_from}起方可启动风险消除"),
            Self::RiskWithoutMeasure { risk_type } => {
                format!("风险类型“{}”尚未落实帮扶措施", risk_type.label_zh())
            }
            Self::IncomeNotStablyAboveLine {
                required_months,
                months_above,
                ..
            } => {
                format!("人均纯收入连续高于监测线仅{months_above}个月，需至少{required_months}个月")
            }
            Self::NoMonitoringLine { month } => format!("{month}无适用的监测线"),
            Self::LivingConditionsNotAssessed => "尚未核查两不愁三保障及饮水安全".to_owned(),
            Self::LivingConditionsNotSecure { insecure } => format!(
                "以下保障未实现：{}",
                insecure
                    .iter()
                    .map(LivingCondition::label_zh)
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            Self::OpenAlerts { alert_ids } => format!("仍有{}条预警未办结", alert_ids.len()),
            Self::NoLabourCapacity => "整户无劳动能力，落实兜底保障后继续监测".to_owned(),
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            Self::NotMonitored => "the household is not monitored".to_owned(),
            Self::MonitoredTooShort {
                required_months,
                approved_on,
                eligible_from,
            } => format!(
                "monitored since {approved_on}, less than {required_months} months; \
                 removal possible from {eligible_from}"
            ),
            Self::RiskWithoutMeasure { risk_type } => {
                format!("risk type {risk_type} has no assistance measure")
            }
            Self::IncomeNotStablyAboveLine {
                required_months,
                months_above,
                latest_month,
            } => format!(
                "per-capita income above the monitoring line for {months_above} consecutive \
                 months up to {}, {required_months} required",
                latest_month.map_or_else(|| "no record".to_owned(), |m| m.to_string())
            ),
            Self::NoMonitoringLine { month } => {
                format!("no monitoring line in force for {month}")
            }
            Self::LivingConditionsNotAssessed => {
                "living conditions (两不愁三保障, drinking water) never assessed".to_owned()
            }
            Self::LivingConditionsNotSecure { insecure } => format!(
                "not secured in the latest assessment: {}",
                insecure
                    .iter()
                    .map(LivingCondition::code)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::OpenAlerts { alert_ids } => {
                format!("{} alert(s) still open", alert_ids.len())
            }
            Self::NoLabourCapacity => {
                "no resident member can work: the household stays monitored under the safety net"
                    .to_owned()
            }
        }
    }
}

/// Removal eligibility as of `as_of`, under `rules`, with the monitoring line in force for
/// each income month from `line_for_month` (fen; `None` when none is set).
///
/// Conditions (research/domain.md §1.9): monitored ≥ N months since county approval; every
/// risk type has a measure of this episode; per-capita income strictly above the line for the
/// N most recent consecutive months of income records; the latest living-conditions
/// assessment secures all five conditions; no linked alert open; and at least one resident
/// member able to work.
pub fn removal_eligibility(
    state: &HouseholdState,
    rules: &PolicyRules,
    line_for_month: impl Fn(YearMonth) -> Option<i64>,
    as_of: NaiveDate,
) -> Eligibility {
    let episode = match (state.status, state.episodes.last()) {
        (MonitoringStatus::Monitored, Some(episode)) => episode,
        _ => {
            return Eligibility {
                eligible: false,
                reasons: vec![IneligibilityReason::NotMonitored],
            };
        }
    };
    let mut reasons = Vec::new();

    let approved_on = china_date(episode.approved_at);
    let required_months = rules.removal_min_months_monitored;
    let eligible_from = approved_on
        .checked_add_months(Months::new(required_months))
        .unwrap_or(NaiveDate::MAX);
    if as_of < eligible_from {
        reasons.push(IneligibilityReason::MonitoredTooShort {
            required_months,
            approved_on,
            eligible_from,
        });
    }

    for risk_type in &episode.risk_types {
        let addressed = state
            .measures
            .values()
            .any(|m| m.episode_number == episode.number && m.risk_types.contains(risk_type));
        if !addressed {
            reasons.push(IneligibilityReason::RiskWithoutMeasure {
                risk_type: *risk_type,
            });
        }
    }

    reasons.extend(income_reasons(state, rules, &line_for_month));

    match &state.latest_assessment {
        None => reasons.push(IneligibilityReason::LivingConditionsNotAssessed),
        Some(assessment) => {
            let insecure = assessment.conditions.insecure();
            if !insecure.is_empty() {
                reasons.push(IneligibilityReason::LivingConditionsNotSecure { insecure });
            }
        }
    }

    if !state.open_alerts.is_empty() {
        reasons.push(IneligibilityReason::OpenAlerts {
            alert_ids: state.open_alerts.iter().copied().collect(),
        });
    }

    if !state.resident_members().any(|m| m.labour.can_work()) {
        reasons.push(IneligibilityReason::NoLabourCapacity);
    }

    Eligibility {
        eligible: reasons.is_empty(),
        reasons,
    }
}

/// [`removal_eligibility`] under a province's policy book, with the rules in force on `as_of`.
pub fn removal_eligibility_under(
    state: &HouseholdState,
    policy: &PolicyBook,
    as_of: NaiveDate,
) -> Eligibility {
    removal_eligibility(
        state,
        &policy.rules_in_force(as_of),
        |month| policy.line_for_month(month),
        as_of,
    )
}

fn income_reasons(
    state: &HouseholdState,
    rules: &PolicyRules,
    line_for_month: &impl Fn(YearMonth) -> Option<i64>,
) -> Vec<IneligibilityReason> {
    let mut by_month = BTreeMap::new();
    for record in &state.incomes {
        by_month.insert(record.window_end, record.per_capita_fen);
    }
    let required_months = rules.removal_min_months_income_above_line;
    let latest_month = by_month.keys().next_back().copied();
    let mut reasons = Vec::new();
    let mut months_above = 0;
    let mut month = latest_month;
    while months_above < required_months {
        let Some(m) = month else { break };
        let Some(per_capita) = by_month.get(&m) else {
            break;
        };
        match line_for_month(m) {
            None => {
                reasons.push(IneligibilityReason::NoMonitoringLine { month: m });
                break;
            }
            Some(line) if *per_capita > line => months_above += 1,
            Some(_) => break,
        }
        month = Some(m.previous());
    }
    if months_above < required_months {
        reasons.push(IneligibilityReason::IncomeNotStablyAboveLine {
            required_months,
            months_above,
            latest_month,
        });
    }
    reasons
}
