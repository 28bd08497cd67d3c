use crate::macros::events;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::actor::Actor;
use crate::attachment::AttachmentHash;
use crate::region::RegionCode;
use crate::vocab::StudyDecision;

use super::state::{AlertRound, AlertSource, Department, Severity};
use super::steps::{PlannedMeasure, StudyApplication};

events! {
/// A fact of an alert's closed loop.
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
        /// The alert reactor follows up with the household's `ApplyForMonitoring`.
        opens_identification: bool,
        late: bool,
        /// What the household signed, for that application (absent before it was recorded here).
        #[serde(default)]
        application: Option<StudyApplication>,
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
}
