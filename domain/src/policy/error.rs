use crate::actor::AccessError;
use crate::error::{DomainError, ErrorKind, FieldError};
use crate::region::RegionCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Input(#[from] FieldError),
    #[error("this policy stream belongs to province {stream}, not {command}")]
    ProvinceMismatch {
        stream: RegionCode,
        command: RegionCode,
    },
    #[error("{rule} = {value} is below the national floor of {floor} (不得低于国家标准)")]
    BelowNationalFloor {
        rule: &'static str,
        value: u32,
        floor: u32,
    },
}

impl DomainError for PolicyError {
    fn code(&self) -> &'static str {
        match self {
            Self::Access(e) => e.code(),
            Self::Input(e) => e.code(),
            Self::ProvinceMismatch { .. } => "POLICY_PROVINCE_MISMATCH",
            Self::BelowNationalFloor { .. } => "BELOW_NATIONAL_FLOOR",
        }
    }
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Access(e) => e.kind(),
            Self::Input(e) => e.kind(),
            Self::ProvinceMismatch { .. } | Self::BelowNationalFloor { .. } => ErrorKind::Rule,
        }
    }
    fn field(&self) -> Option<&'static str> {
        match self {
            Self::Input(e) => e.field(),
            _ => None,
        }
    }
}
