//! Why a command did not land, in the terms a client (or a reactor) can act on.

use dixian_domain::{DomainError, ErrorKind};
use dixian_store::{AppendError, StoreError};

/// A command's failure. `Refused` is the domain's answer (tell the user; retrying the same
/// command on the same state gives the same answer); the others are about the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// The domain refused: a bad value, a broken rule, a missing record, or an actor outside
    /// their role or jurisdiction.
    Refused(Refusal),
    /// No such stream or object.
    NotFound(String),
    /// A malformed request the domain never saw (a reused command id, an oversized body).
    BadInput { field: String, message: String },
    /// Another writer changed the stream on every try.
    Conflict(String),
    /// The ledger's write queue is full or the server is stopping.
    Overloaded(String),
    /// A fault of the server or the database; the cause is for the log, never for a client.
    Internal(String),
}

/// What the domain said, with the rule's name and every reason it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: ErrorKind,
    /// The rule's stable code (`REMOVAL_NOT_ELIGIBLE`, `REQUIRED`, …).
    pub code: &'static str,
    /// For input errors: the command field at fault (snake_case path).
    pub field: Option<&'static str>,
    pub message: String,
    /// Every failing reason (code, Chinese message), for refusals that have several.
    pub reasons: Vec<(String, String)>,
}

impl CommandError {
    /// The domain's refusal, with its reasons when it lists them.
    pub fn refused(e: &(impl DomainError + ?Sized), reasons: Vec<(String, String)>) -> Self {
        Self::Refused(Refusal {
            kind: e.kind(),
            code: e.code(),
            field: e.field(),
            message: e.to_string(),
            reasons,
        })
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    /// Whether trying again later may succeed without anything else changing (a reactor
    /// waits and retries these in place; a refusal it parks and retries when the state moved).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Conflict(_) | Self::Overloaded(_) | Self::Internal(_)
        )
    }

    /// The stable code of the error table (as in the API's `extensions.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Refused(r) => r.kind.graphql_code(),
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::Overloaded(_) => "OVERLOADED",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// The rule or field behind the error, if any.
    pub fn detail(&self) -> Option<String> {
        match self {
            Self::Refused(r) if r.kind == ErrorKind::Input => r.field.map(str::to_owned),
            Self::Refused(r) => Some(r.code.to_owned()),
            Self::BadInput { field, .. } => Some(field.clone()),
            _ => None,
        }
    }

    /// A message fit for a client (internal causes are withheld).
    pub fn message(&self) -> String {
        match self {
            Self::Refused(r) => r.message.clone(),
            Self::NotFound(m) | Self::Conflict(m) | Self::Overloaded(m) => m.clone(),
            Self::BadInput { field, message } => format!("{field}: {message}"),
            Self::Internal(_) => "internal error".into(),
        }
    }
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownLedger(l) => Self::NotFound(format!("unknown ledger {l}")),
            StoreError::Invalid(m) => Self::BadInput {
                field: "input".into(),
                message: m,
            },
            StoreError::Database(d) => d.into(),
            StoreError::Unavailable(m) => Self::internal(m),
        }
    }
}

impl From<AppendError> for CommandError {
    fn from(e: AppendError) -> Self {
        let bad = |field: &str, e: &AppendError| Self::BadInput {
            field: field.into(),
            message: e.to_string(),
        };
        match &e {
            AppendError::Conflict { .. }
            | AppendError::Claimed { .. }
            | AppendError::EventIdReused { .. } => Self::Conflict(e.to_string()),
            AppendError::CommandReused { .. } => bad("commandId", &e),
            AppendError::Invalid { field, .. } => bad(field, &e),
            AppendError::ForbiddenText { path, .. } => bad(path, &e),
            AppendError::Empty
            | AppendError::TooManyEvents { .. }
            | AppendError::TooLarge { .. } => bad("input", &e),
            AppendError::UnknownLedger { .. } => Self::NotFound(e.to_string()),
            AppendError::WrongLedger { .. } => bad("ledger", &e),
            AppendError::Overloaded { .. } | AppendError::ShuttingDown => {
                Self::Overloaded(e.to_string())
            }
            AppendError::Database(d) if dixian_store::db::is_overload(d) => {
                Self::Overloaded(OVERLOADED.into())
            }
            AppendError::Inline(_) | AppendError::Database(_) => Self::internal(e),
        }
    }
}

/// What a client is told when the database is too busy (see `dixian_store::db::is_overload`).
pub const OVERLOADED: &str = "the server is busy; retry shortly";

impl From<sqlx::Error> for CommandError {
    fn from(e: sqlx::Error) -> Self {
        if dixian_store::db::is_overload(&e) {
            Self::Overloaded(OVERLOADED.into())
        } else {
            Self::internal(e)
        }
    }
}
