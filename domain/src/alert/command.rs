use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::actor::Actor;
use crate::attachment::AttachmentHash;
use crate::policy::PolicyBook;
use crate::region::RegionCode;
use crate::vocab::{MeasureType, StudyDecision};

use super::state::{AlertSource, Department, Severity};

/// 一措施 — the measure a township study decides on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedMeasure {
    pub measure_type: MeasureType,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlertCommand {
    RaiseAlert {
        actor: Actor,
        at: DateTime<Utc>,
        /// The deadlines are those in force when the alert is raised.
        policy: PolicyBook,
        alert_id: Uuid,
        source: AlertSource,
        /// Required exactly when `source` is `DEPARTMENT_DATA`.
        department: Option<Department>,
        /// Stable trigger code (e.g. `MEDICAL_OUT_OF_POCKET`); the deduplication key with the
        /// household.
        trigger_code: String,
        trigger_text: String,
        severity: Severity,
        /// The household matched (by ID-number hash), if any.
        household_id: Option<Uuid>,
        village: RegionCode,
    },
    /// The same warning arrived again while this alert is open.
    ReportDuplicate {
        actor: Actor,
        at: DateTime<Utc>,
        source: AlertSource,
        department: Option<Department>,
        trigger_text: String,
    },
    /// 首轮核实反馈 — by the village.
    RecordFirstRoundFeedback {
        actor: Actor,
        at: DateTime<Utc>,
        findings: String,
        risk_confirmed: bool,
        visit_id: Option<Uuid>,
        attachments: Vec<AttachmentHash>,
    },
    /// 二轮研判 — by the township: a decision and a measure, or the reason for none.
    RecordSecondRoundStudy {
        actor: Actor,
        at: DateTime<Utc>,
        decision: StudyDecision,
        measure: Option<PlannedMeasure>,
        reason: String,
    },
    CloseAlert {
        actor: Actor,
        at: DateTime<Utc>,
        note: String,
    },
    /// 督办 — refused unless a round is past its deadline at `at`.
    EscalateAlert {
        actor: Actor,
        at: DateTime<Utc>,
        note: String,
    },
}

impl AlertCommand {
    pub fn actor(&self) -> &Actor {
        match self {
            Self::RaiseAlert { actor, .. }
            | Self::ReportDuplicate { actor, .. }
            | Self::RecordFirstRoundFeedback { actor, .. }
            | Self::RecordSecondRoundStudy { actor, .. }
            | Self::CloseAlert { actor, .. }
            | Self::EscalateAlert { actor, .. } => actor,
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::RaiseAlert { at, .. }
            | Self::ReportDuplicate { at, .. }
            | Self::RecordFirstRoundFeedback { at, .. }
            | Self::RecordSecondRoundStudy { at, .. }
            | Self::CloseAlert { at, .. }
            | Self::EscalateAlert { at, .. } => *at,
        }
    }

    pub fn action(&self) -> &'static str {
        match self {
            Self::RaiseAlert { .. } => "raise an alert",
            Self::ReportDuplicate { .. } => "report a duplicate alert",
            Self::RecordFirstRoundFeedback { .. } => "record first-round feedback",
            Self::RecordSecondRoundStudy { .. } => "record the second-round study",
            Self::CloseAlert { .. } => "close an alert",
            Self::EscalateAlert { .. } => "escalate an alert",
        }
    }

    /// A `RaiseAlert` turned into the `ReportDuplicate` to record on the alert [`dedup`]
    /// found; `None` for other commands.
    ///
    /// [`dedup`]: super::dedup()
    pub fn duplicate_report(&self) -> Option<AlertCommand> {
        match self {
            Self::RaiseAlert {
                actor,
                at,
                source,
                department,
                trigger_text,
                ..
            } => Some(Self::ReportDuplicate {
                actor: actor.clone(),
                at: *at,
                source: *source,
                department: *department,
                trigger_text: trigger_text.clone(),
            }),
            _ => None,
        }
    }
}
