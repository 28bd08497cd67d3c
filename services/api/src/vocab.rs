//! Codes with their Chinese labels, as front ends show them, and parsing of code inputs.

use async_graphql::{Object, SimpleObject};
use dixian_domain::household::{IdentificationStage, MonitoringStatus, RemovalStage};
use dixian_domain::vocab::*;

use crate::error::ApiError;

/// A code and the Chinese label a front end shows next to it.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct Coded {
    pub code: String,
    pub label_zh: String,
}

impl Coded {
    pub fn new(code: &str, label_zh: &str) -> Self {
        Self {
            code: code.to_owned(),
            label_zh: label_zh.to_owned(),
        }
    }
}

/// Anything declared with the domain's `vocab!` macro.
pub trait Vocab: Sized + Copy + 'static {
    const ALL: &'static [Self];
    fn code(&self) -> &'static str;
    fn label_zh(&self) -> &'static str;
    fn coded(&self) -> Coded {
        Coded::new(self.code(), self.label_zh())
    }
}

macro_rules! vocab_impl {
    ($($t:ty),+ $(,)?) => {$(
        impl Vocab for $t {
            const ALL: &'static [Self] = <$t>::ALL;
            fn code(&self) -> &'static str { <$t>::code(self) }
            fn label_zh(&self) -> &'static str { <$t>::label_zh(self) }
        }
    )+};
}

vocab_impl!(
    Sex,
    Relation,
    Health,
    LabourCapacity,
    Schooling,
    Employment,
    SafetyNet,
    FocusGroup,
    Category,
    RiskType,
    MeasureType,
    MemberChangeReason,
    VisitKind,
    LivingCondition,
    ReviewResult,
    TownshipDecision,
    StudyDecision,
    MonitoringStatus,
    IdentificationStage,
    RemovalStage,
    dixian_domain::Role,
    dixian_domain::alert::AlertSource,
    dixian_domain::alert::Department,
    dixian_domain::alert::Severity,
    dixian_domain::alert::AlertStatus,
    dixian_domain::user::CadreScope,
);

/// Parses a code input, naming the field and the accepted codes when it is unknown.
pub fn parse<T: Vocab>(field: &str, value: &str) -> Result<T, ApiError> {
    T::ALL
        .iter()
        .copied()
        .find(|v| v.code() == value)
        .ok_or_else(|| {
            let known: Vec<&str> = T::ALL.iter().map(|v| v.code()).collect();
            ApiError::bad_input(
                field,
                format!("unknown code {value:?}; one of {}", known.join(", ")),
            )
        })
}

/// Parses a list of codes.
pub fn parse_all<T: Vocab>(field: &str, values: &[String]) -> Result<Vec<T>, ApiError> {
    values.iter().map(|v| parse(field, v)).collect()
}

fn list<T: Vocab>() -> Vec<Coded> {
    T::ALL.iter().map(Vocab::coded).collect()
}

/// Every code list of the API with Chinese labels (for pickers and legends).
#[derive(Default)]
pub struct Vocabulary;

#[Object]
impl Vocabulary {
    async fn roles(&self) -> Vec<Coded> {
        list::<dixian_domain::Role>()
    }
    async fn sexes(&self) -> Vec<Coded> {
        list::<Sex>()
    }
    async fn relations(&self) -> Vec<Coded> {
        list::<Relation>()
    }
    async fn health(&self) -> Vec<Coded> {
        list::<Health>()
    }
    async fn labour_capacities(&self) -> Vec<Coded> {
        list::<LabourCapacity>()
    }
    async fn schooling_stages(&self) -> Vec<Coded> {
        list::<Schooling>()
    }
    async fn employment(&self) -> Vec<Coded> {
        list::<Employment>()
    }
    async fn safety_nets(&self) -> Vec<Coded> {
        list::<SafetyNet>()
    }
    async fn focus_groups(&self) -> Vec<Coded> {
        list::<FocusGroup>()
    }
    async fn categories(&self) -> Vec<Coded> {
        list::<Category>()
    }
    async fn risk_types(&self) -> Vec<Coded> {
        list::<RiskType>()
    }
    async fn measure_types(&self) -> Vec<Coded> {
        list::<MeasureType>()
    }
    async fn member_change_reasons(&self) -> Vec<Coded> {
        list::<MemberChangeReason>()
    }
    async fn visit_kinds(&self) -> Vec<Coded> {
        list::<VisitKind>()
    }
    async fn living_conditions(&self) -> Vec<Coded> {
        list::<LivingCondition>()
    }
    async fn review_results(&self) -> Vec<Coded> {
        list::<ReviewResult>()
    }
    async fn township_decisions(&self) -> Vec<Coded> {
        list::<TownshipDecision>()
    }
    async fn study_decisions(&self) -> Vec<Coded> {
        list::<StudyDecision>()
    }
    async fn monitoring_statuses(&self) -> Vec<Coded> {
        list::<MonitoringStatus>()
    }
    async fn identification_stages(&self) -> Vec<Coded> {
        list::<IdentificationStage>()
    }
    async fn removal_stages(&self) -> Vec<Coded> {
        list::<RemovalStage>()
    }
    async fn alert_sources(&self) -> Vec<Coded> {
        list::<dixian_domain::alert::AlertSource>()
    }
    async fn departments(&self) -> Vec<Coded> {
        list::<dixian_domain::alert::Department>()
    }
    async fn severities(&self) -> Vec<Coded> {
        list::<dixian_domain::alert::Severity>()
    }
    async fn alert_statuses(&self) -> Vec<Coded> {
        list::<dixian_domain::alert::AlertStatus>()
    }
}
