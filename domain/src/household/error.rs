use std::fmt;

use uuid::Uuid;

use crate::actor::AccessError;
use crate::error::{DomainError, ErrorKind, FieldError};
use crate::region::RegionCode;
use crate::vocab::{Category, FocusGroup, RiskType};

use super::eligibility::IneligibilityReason;

/// The records a household command can refer to by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    Member,
    Income,
    Visit,
    Measure,
    Objection,
    Episode,
    Plan,
    Assessment,
    Alert,
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Member => "member",
            Self::Income => "income record",
            Self::Visit => "visit",
            Self::Measure => "measure",
            Self::Objection => "objection",
            Self::Episode => "episode",
            Self::Plan => "assistance plan",
            Self::Assessment => "assessment",
            Self::Alert => "linked alert",
        })
    }
}

/// Why a household command was refused. `code()` names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HouseholdError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Input(#[from] FieldError),
    #[error("the household is not registered")]
    NotRegistered,
    #[error("no {record} {id} in this household")]
    NotFound { record: Record, id: Uuid },
    #[error("the household is already registered")]
    AlreadyRegistered,
    #[error("a {record} with id {id} already exists")]
    DuplicateId { record: Record, id: Uuid },
    #[error("the policy book is province {policy}'s but the household is in province {household}")]
    PolicyProvinceMismatch {
        policy: RegionCode,
        household: String,
    },
    #[error("the household already has a head (户主)")]
    HeadAlreadyPresent,
    #[error("this person is already member {member_id} of the household")]
    PersonAlreadyMember { member_id: Uuid },
    #[error("the household is already tagged {group}")]
    AlreadyTagged { group: FocusGroup },
    #[error("the household is not tagged {group}")]
    NotTagged { group: FocusGroup },
    #[error("the household has no resident member to divide income by")]
    NoResidentMembers,
    #[error("cadre visit rounds happen in even months (双月走访); month {month} is odd")]
    CadreVisitInOddMonth { month: u32 },
    #[error("the application needs the signed authorisation (承诺授权)")]
    AuthorisationNotSigned,
    #[error("the household is already monitored")]
    AlreadyMonitored,
    #[error("an identification procedure is already under way")]
    IdentificationInProgress,
    #[error("no identification procedure is under way")]
    NoIdentificationInProgress,
    #[error("{step} is not the next step: the procedure is at {stage}")]
    StepOutOfOrder {
        step: &'static str,
        stage: &'static str,
    },
    #[error("the democratic review rejected the case: review again or end the procedure")]
    DemocraticReviewRejected,
    #[error("home verification needs {required} distinct people, got {got}")]
    NotEnoughVerifiers { required: u32, got: u32 },
    #[error("no public notice is open")]
    NoNoticeOpen,
    #[error("objection {objection_id} was already re-verified")]
    ObjectionAlreadyReverified { objection_id: Uuid },
    #[error("the notice must stay up {required_days} days; {elapsed_days} have passed")]
    NoticePeriodNotElapsed {
        required_days: u32,
        elapsed_days: i64,
    },
    #[error("objection {objection_id} has not been re-verified")]
    ObjectionNotReverified { objection_id: Uuid },
    #[error("category {category} does not fit a household with formerly_poor = {formerly_poor}")]
    CategoryMismatch {
        category: Category,
        formerly_poor: bool,
    },
    #[error("the green channel is for disaster or accident, not {risk_type}")]
    GreenChannelNotForRisk { risk_type: RiskType },
    #[error("the green channel is already open")]
    GreenChannelAlreadyOpen,
    #[error("the household is not monitored")]
    NotMonitored,
    #[error("an assistance plan already exists for this episode")]
    PlanAlreadyExists,
    #[error("create the assistance plan (一户一策) before adding measures")]
    PlanRequired,
    #[error("the household has no risk type {risk_type}")]
    RiskTypeNotOfHousehold { risk_type: RiskType },
    #[error("measure {measure_id} is already completed")]
    MeasureAlreadyCompleted { measure_id: Uuid },
    #[error("risk removal is not allowed: {}", list(reasons))]
    RemovalNotEligible { reasons: Vec<IneligibilityReason> },
    #[error("a removal procedure is already under way")]
    RemovalInProgress,
    #[error("no removal procedure is under way")]
    NoRemovalInProgress,
    #[error("the household's risk has not been removed")]
    NotRiskRemoved,
    #[error("alert {alert_id} is already linked")]
    AlertAlreadyLinked { alert_id: Uuid },
}

fn list(reasons: &[IneligibilityReason]) -> String {
    reasons
        .iter()
        .map(IneligibilityReason::message_en)
        .collect::<Vec<_>>()
        .join("; ")
}

impl DomainError for HouseholdError {
    fn code(&self) -> &'static str {
        match self {
            Self::Access(e) => e.code(),
            Self::Input(e) => e.code(),
            Self::NotRegistered => "HOUSEHOLD_NOT_FOUND",
            Self::NotFound { record, .. } => match record {
                Record::Member => "MEMBER_NOT_FOUND",
                Record::Income => "INCOME_RECORD_NOT_FOUND",
                Record::Visit => "VISIT_NOT_FOUND",
                Record::Measure => "MEASURE_NOT_FOUND",
                Record::Objection => "OBJECTION_NOT_FOUND",
                Record::Episode => "EPISODE_NOT_FOUND",
                Record::Plan => "PLAN_NOT_FOUND",
                Record::Assessment => "ASSESSMENT_NOT_FOUND",
                Record::Alert => "ALERT_NOT_LINKED",
            },
            Self::AlreadyRegistered => "ALREADY_REGISTERED",
            Self::DuplicateId { .. } => "DUPLICATE_ID",
            Self::PolicyProvinceMismatch { .. } => "POLICY_PROVINCE_MISMATCH",
            Self::HeadAlreadyPresent => "HEAD_ALREADY_PRESENT",
            Self::PersonAlreadyMember { .. } => "PERSON_ALREADY_MEMBER",
            Self::AlreadyTagged { .. } => "ALREADY_TAGGED",
            Self::NotTagged { .. } => "NOT_TAGGED",
            Self::NoResidentMembers => "NO_RESIDENT_MEMBERS",
            Self::CadreVisitInOddMonth { .. } => "CADRE_VISIT_NOT_IN_EVEN_MONTH",
            Self::AuthorisationNotSigned => "AUTHORISATION_NOT_SIGNED",
            Self::AlreadyMonitored => "ALREADY_MONITORED",
            Self::IdentificationInProgress => "IDENTIFICATION_IN_PROGRESS",
            Self::NoIdentificationInProgress => "NO_IDENTIFICATION_IN_PROGRESS",
            Self::StepOutOfOrder { .. } => "STEP_OUT_OF_ORDER",
            Self::DemocraticReviewRejected => "DEMOCRATIC_REVIEW_REJECTED",
            Self::NotEnoughVerifiers { .. } => "HOME_VERIFICATION_NEEDS_MORE_PEOPLE",
            Self::NoNoticeOpen => "NO_NOTICE_OPEN",
            Self::ObjectionAlreadyReverified { .. } => "OBJECTION_ALREADY_REVERIFIED",
            Self::NoticePeriodNotElapsed { .. } => "NOTICE_PERIOD_NOT_ELAPSED",
            Self::ObjectionNotReverified { .. } => "OBJECTION_NOT_REVERIFIED",
            Self::CategoryMismatch { .. } => "CATEGORY_MISMATCH",
            Self::GreenChannelNotForRisk { .. } => "GREEN_CHANNEL_RISK_NOT_ALLOWED",
            Self::GreenChannelAlreadyOpen => "GREEN_CHANNEL_ALREADY_OPEN",
            Self::NotMonitored => "NOT_MONITORED",
            Self::PlanAlreadyExists => "ASSISTANCE_PLAN_EXISTS",
            Self::PlanRequired => "ASSISTANCE_PLAN_REQUIRED",
            Self::RiskTypeNotOfHousehold { .. } => "RISK_TYPE_NOT_OF_HOUSEHOLD",
            Self::MeasureAlreadyCompleted { .. } => "MEASURE_ALREADY_COMPLETED",
            Self::RemovalNotEligible { .. } => "REMOVAL_NOT_ELIGIBLE",
            Self::RemovalInProgress => "REMOVAL_IN_PROGRESS",
            Self::NoRemovalInProgress => "NO_REMOVAL_IN_PROGRESS",
            Self::NotRiskRemoved => "NOT_RISK_REMOVED",
            Self::AlertAlreadyLinked { .. } => "ALERT_ALREADY_LINKED",
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            Self::Access(e) => e.kind(),
            Self::Input(e) => e.kind(),
            Self::NotRegistered | Self::NotFound { .. } => ErrorKind::NotFound,
            _ => ErrorKind::Rule,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::Input(e) => e.field(),
            _ => None,
        }
    }

    fn reasons(&self) -> Vec<(String, String)> {
        match self {
            Self::RemovalNotEligible { reasons } => reasons
                .iter()
                .map(|r| (r.code().to_owned(), r.message_zh()))
                .collect(),
            _ => Vec::new(),
        }
    }
}
