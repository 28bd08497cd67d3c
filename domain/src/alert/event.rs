use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::actor::Actor;
use crate::attachment::AttachmentHash;
use crate::region::RegionCode;
use crate::vocab::StudyDecision;

use super::command::PlannedMeasure;
use super::state::{AlertRound, AlertSource, Department, Severity};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AlertEvent {
    AlertRaised {
        alert_id: Uuid,
        source: AlertSource,
        #[serde(default)]
        department: Option<Department>,
        trigger_code: String,
        #[serde(default)]
        trigger_text: String,
        severity: Severity,
        #[serde(default)]
        household_id: Option<Uuid>,
        village: RegionCode,
        first_round_due: DateTime<Utc>,
        second_round_due: DateTime<Utc>,
        by: Actor,
        at: DateTime<Utc>,
    },
    DuplicateReported {
        source: AlertSource,
        #[serde(default)]
        department: Option<Department>,
        #[serde(default)]
        trigger_text: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    FirstRoundFeedbackRecorded {
        findings: String,
        risk_confirmed: bool,
        #[serde(default)]
        visit_id: Option<Uuid>,
        #[serde(default)]
        attachments: Vec<AttachmentHash>,
        /// After the first-round deadline: recorded, and counted against the village.
        late: bool,
        by: Actor,
        at: DateTime<Utc>,
    },
    SecondRoundStudyRecorded {
        decision: StudyDecision,
        #[serde(default)]
        measure: Option<PlannedMeasure>,
        #[serde(default)]
        reason: String,
        /// The service follows up with the household's `ApplyForMonitoring`.
        opens_identification: bool,
        late: bool,
        by: Actor,
        at: DateTime<Utc>,
    },
    AlertEscalated {
        round: AlertRound,
        due_was: DateTime<Utc>,
        /// 1 for the first escalation of this alert, then 2…
        level: u32,
        #[serde(default)]
        note: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    AlertClosed {
        disposition: StudyDecision,
        #[serde(default)]
        note: String,
        by: Actor,
        at: DateTime<Utc>,
    },
}

impl AlertEvent {
    pub const TYPES: &'static [&'static str] = &[
        "AlertRaised",
        "DuplicateReported",
        "FirstRoundFeedbackRecorded",
        "SecondRoundStudyRecorded",
        "AlertEscalated",
        "AlertClosed",
    ];

    pub fn event_type(&self) -> &'static str {
        match self {
            Self::AlertRaised { .. } => "AlertRaised",
            Self::DuplicateReported { .. } => "DuplicateReported",
            Self::FirstRoundFeedbackRecorded { .. } => "FirstRoundFeedbackRecorded",
            Self::SecondRoundStudyRecorded { .. } => "SecondRoundStudyRecorded",
            Self::AlertEscalated { .. } => "AlertEscalated",
            Self::AlertClosed { .. } => "AlertClosed",
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::AlertRaised { at, .. }
            | Self::DuplicateReported { at, .. }
            | Self::FirstRoundFeedbackRecorded { at, .. }
            | Self::SecondRoundStudyRecorded { at, .. }
            | Self::AlertEscalated { at, .. }
            | Self::AlertClosed { at, .. } => *at,
        }
    }
}
