//! What every domain error can say about itself, and the shared input-error type.

use std::fmt;

/// How the API should present an error: a bad value, a broken rule, a missing thing, or an
/// actor acting outside their role or jurisdiction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A value is malformed or out of range (`BAD_USER_INPUT`); `field()` names it.
    Input,
    /// The values are fine but a rule of the procedure forbids the step (`RULE_VIOLATION`).
    Rule,
    /// The thing the command refers to does not exist (`NOT_FOUND`).
    NotFound,
    /// The actor's role or jurisdiction does not allow it (`FORBIDDEN`).
    Forbidden,
}

impl ErrorKind {
    /// The `extensions.code` of the GraphQL error table.
    pub fn graphql_code(self) -> &'static str {
        match self {
            Self::Input => "BAD_USER_INPUT",
            Self::Rule => "RULE_VIOLATION",
            Self::NotFound => "NOT_FOUND",
            Self::Forbidden => "FORBIDDEN",
        }
    }
}

/// Implemented by every error the domain returns, so the API maps them in one place.
pub trait DomainError: std::error::Error {
    /// Stable machine name of the broken rule, e.g. `REMOVAL_NOT_ELIGIBLE`.
    fn code(&self) -> &'static str;
    fn kind(&self) -> ErrorKind;
    /// For input errors, the command field at fault (snake_case, as in the command struct).
    fn field(&self) -> Option<&'static str> {
        None
    }
    /// Every failing reason (code, Chinese message), for refusals that list several.
    fn reasons(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// A bad value in one field of a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {rule}")]
pub struct FieldError {
    pub field: &'static str,
    pub rule: InputRule,
}

/// Which property of a value is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputRule {
    Required,
    Negative,
    NotPositive,
    OutOfRange { min: i64, max: i64 },
    InFuture,
    Before { other: &'static str },
    NotOneOf { allowed: &'static str },
    NotAVillage,
    NotAProvince,
    Invalid { reason: &'static str },
}

impl fmt::Display for InputRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Required => write!(f, "is required (必填)"),
            Self::Negative => write!(f, "must not be negative (不得为负)"),
            Self::NotPositive => write!(f, "must be greater than zero (必须大于零)"),
            Self::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            Self::InFuture => write!(f, "must not be in the future (不得晚于当前业务日期)"),
            Self::Before { other } => write!(f, "must not be before {other}"),
            Self::NotOneOf { allowed } => write!(f, "must be one of {allowed}"),
            Self::NotAVillage => write!(f, "must be a 12-digit village code (村级代码)"),
            Self::NotAProvince => write!(f, "must be a 2-digit province code (省级代码)"),
            Self::Invalid { reason } => write!(f, "is invalid: {reason}"),
        }
    }
}

impl InputRule {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "REQUIRED",
            Self::Negative => "NEGATIVE_NOT_ALLOWED",
            Self::NotPositive => "MUST_BE_POSITIVE",
            Self::OutOfRange { .. } => "OUT_OF_RANGE",
            Self::InFuture => "DATE_IN_FUTURE",
            Self::Before { .. } => "DATE_OUT_OF_ORDER",
            Self::NotOneOf { .. } => "VALUE_NOT_ALLOWED",
            Self::NotAVillage => "NOT_A_VILLAGE",
            Self::NotAProvince => "NOT_A_PROVINCE",
            Self::Invalid { .. } => "INVALID_VALUE",
        }
    }
}

impl FieldError {
    pub fn new(field: &'static str, rule: InputRule) -> Self {
        Self { field, rule }
    }
    pub fn required(field: &'static str) -> Self {
        Self::new(field, InputRule::Required)
    }
    pub fn negative(field: &'static str) -> Self {
        Self::new(field, InputRule::Negative)
    }
    pub fn in_future(field: &'static str) -> Self {
        Self::new(field, InputRule::InFuture)
    }

    /// `Required` unless the text has something besides whitespace.
    pub(crate) fn require_text(field: &'static str, text: &str) -> Result<(), Self> {
        if text.trim().is_empty() {
            Err(Self::required(field))
        } else {
            Ok(())
        }
    }
}

impl DomainError for FieldError {
    fn code(&self) -> &'static str {
        self.rule.code()
    }
    fn kind(&self) -> ErrorKind {
        ErrorKind::Input
    }
    fn field(&self) -> Option<&'static str> {
        Some(self.field)
    }
}
