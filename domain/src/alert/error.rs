use crate::actor::AccessError;
use crate::error::{DomainError, ErrorKind, FieldError};
use crate::region::RegionCode;

use super::state::AlertRound;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Input(#[from] FieldError),
    #[error("the alert has not been raised")]
    NotRaised,
    #[error("the alert has already been raised")]
    AlreadyRaised,
    #[error("the alert is closed")]
    Closed,
    #[error("the policy book is province {policy}'s but the village is in province {village}")]
    PolicyProvinceMismatch { policy: RegionCode, village: String },
    #[error("the first-round feedback is already recorded")]
    FirstRoundAlreadyRecorded,
    #[error("the second-round study is already recorded")]
    StudyAlreadyRecorded,
    #[error("{step} is not the next step: the alert is at {status}")]
    StepOutOfOrder {
        step: &'static str,
        status: &'static str,
    },
    #[error("the study must record a measure or the reason for none (一研究一措施)")]
    MeasureOrReasonRequired,
    #[error("adjusting measures needs the alert to be matched to a household")]
    HouseholdRequired,
    #[error("nothing is overdue: no escalation needed")]
    NothingOverdue,
    #[error("the {round} was already escalated")]
    AlreadyEscalated { round: AlertRound },
}

impl DomainError for AlertError {
    fn code(&self) -> &'static str {
        match self {
            Self::Access(e) => e.code(),
            Self::Input(e) => e.code(),
            Self::NotRaised => "ALERT_NOT_FOUND",
            Self::AlreadyRaised => "ALERT_ALREADY_RAISED",
            Self::Closed => "ALERT_CLOSED",
            Self::PolicyProvinceMismatch { .. } => "POLICY_PROVINCE_MISMATCH",
            Self::FirstRoundAlreadyRecorded => "FIRST_ROUND_ALREADY_RECORDED",
            Self::StudyAlreadyRecorded => "STUDY_ALREADY_RECORDED",
            Self::StepOutOfOrder { .. } => "STEP_OUT_OF_ORDER",
            Self::MeasureOrReasonRequired => "MEASURE_OR_REASON_REQUIRED",
            Self::HouseholdRequired => "HOUSEHOLD_REQUIRED",
            Self::NothingOverdue => "NOTHING_OVERDUE",
            Self::AlreadyEscalated { .. } => "ALREADY_ESCALATED",
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            Self::Access(e) => e.kind(),
            Self::Input(e) => e.kind(),
            Self::MeasureOrReasonRequired => ErrorKind::Input,
            Self::NotRaised => ErrorKind::NotFound,
            _ => ErrorKind::Rule,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::Input(e) => e.field(),
            Self::MeasureOrReasonRequired => Some("measure"),
            _ => None,
        }
    }
}
