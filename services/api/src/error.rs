//! The one table of error codes clients see in `extensions.code` (also in the README):
//!
//! | code | meaning |
//! |---|---|
//! | `UNAUTHENTICATED` | no valid bearer token |
//! | `FORBIDDEN` | the caller's role or jurisdiction does not allow this |
//! | `NOT_FOUND` | no such object (also used where existence itself must not leak) |
//! | `BAD_USER_INPUT` | an input value is malformed; `extensions.field` names it |
//! | `CONFLICT` | the object changed since it was read; re-read and retry |
//! | `RULE_VIOLATION` | a domain rule refused the command; `extensions.rule` names it |
//! | `OVERLOADED` | the ledger's queue is full; retry shortly |
//! | `INTERNAL` | a server fault; details are logged, never sent |

use async_graphql::ErrorExtensions;
use dixian_store::{AppendError, StoreError};

/// An error as the client sees it. Deliberately not `Display`: async-graphql converts any
/// `Display` error into a plain message, which would drop the code; `From<ApiError>` below keeps
/// it, so `?` in resolvers always carries `extensions.code`.
#[derive(Debug)]
pub enum ApiError {
    Unauthenticated,
    Forbidden(String),
    NotFound(String),
    BadInput {
        field: String,
        message: String,
    },
    Conflict(String),
    Rule {
        rule: String,
        message: String,
        reasons: Vec<(String, String)>,
    },
    Overloaded(String),
    Internal(String),
}

impl ApiError {
    /// The human message (the cause of an internal error is never included).
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated => "a valid bearer token is required".into(),
            Self::Forbidden(m) | Self::NotFound(m) | Self::Conflict(m) | Self::Overloaded(m) => {
                m.clone()
            }
            Self::BadInput { field, message } => format!("{field}: {message}"),
            Self::Rule { message, .. } => message.clone(),
            Self::Internal(_) => "internal error".into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::Rule { .. } => "RULE_VIOLATION",
            Self::Overloaded(_) => "OVERLOADED",
            Self::Internal(_) => "INTERNAL",
        }
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(cause) = self {
            // Logged once here with the cause; the client gets only the generic message.
            tracing::error!(error = %cause, "internal error");
        }
        async_graphql::Error::new(self.message()).extend_with(|_, e| {
            e.set("code", self.code());
            match self {
                Self::BadInput { field, .. } => e.set("field", field.as_str()),
                Self::Rule { rule, reasons, .. } => {
                    e.set("rule", rule.as_str());
                    if !reasons.is_empty() {
                        let list: Vec<async_graphql::Value> = reasons
                            .iter()
                            .map(|(code, message)| {
                                let mut m = async_graphql::indexmap::IndexMap::new();
                                m.insert(
                                    async_graphql::Name::new("code"),
                                    async_graphql::Value::from(code.as_str()),
                                );
                                m.insert(
                                    async_graphql::Name::new("message"),
                                    async_graphql::Value::from(message.as_str()),
                                );
                                async_graphql::Value::Object(m)
                            })
                            .collect();
                        e.set("reasons", async_graphql::Value::List(list));
                    }
                }
                _ => {}
            }
        })
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        e.extend()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownLedger(l) => Self::NotFound(format!("unknown ledger {l}")),
            StoreError::Invalid(m) => Self::bad_input("input", m),
            StoreError::Database(d) => Self::internal(d),
            StoreError::Unavailable(m) => Self::internal(m),
        }
    }
}

impl From<AppendError> for ApiError {
    fn from(e: AppendError) -> Self {
        match &e {
            AppendError::Conflict { .. } => Self::Conflict(e.to_string()),
            AppendError::CommandReused { .. } => Self::bad_input("commandId", e.to_string()),
            AppendError::EventIdReused { .. } => Self::Conflict(e.to_string()),
            AppendError::Invalid { field, .. } => Self::bad_input(*field, e.to_string()),
            AppendError::Empty
            | AppendError::TooManyEvents { .. }
            | AppendError::TooLarge { .. } => Self::bad_input("input", e.to_string()),
            AppendError::UnknownLedger { .. } => Self::NotFound(e.to_string()),
            AppendError::WrongLedger { .. } => Self::bad_input("ledger", e.to_string()),
            AppendError::Overloaded { .. } | AppendError::ShuttingDown => {
                Self::Overloaded(e.to_string())
            }
            AppendError::Inline(_) | AppendError::Database(_) => Self::internal(e),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::internal(e)
    }
}
