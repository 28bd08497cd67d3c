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
//! | `OVERLOADED` | the server is busy (the ledger's queue is full, or no database connection came free in time); retry the same request after `extensions.retryAfter` seconds |
//! | `INTERNAL` | a server fault; details are logged, never sent |

use async_graphql::ErrorExtensions;
use dixian_commands::CommandError;
use dixian_domain::ErrorKind;
use dixian_store::StoreError;

/// `extensions.retryAfter` of `OVERLOADED`.
pub const RETRY_AFTER_SECONDS: i32 = 1;

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

    /// The input field at fault, for `BAD_USER_INPUT`.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::BadInput { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The broken rule, for `RULE_VIOLATION`.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Self::Rule { rule, .. } => Some(rule),
            _ => None,
        }
    }

    /// Logs an internal error's cause (once, where it is turned into an answer).
    pub fn log_cause(&self) {
        if let Self::Internal(cause) = self {
            tracing::error!(error = %cause, "internal error");
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
        // Logged once here with the cause; the client gets only the generic message.
        self.log_cause();
        async_graphql::Error::new(self.message()).extend_with(|_, e| {
            e.set("code", self.code());
            match self {
                Self::BadInput { field, .. } => e.set("field", field.as_str()),
                // Seconds a client should wait before sending the same request again.
                Self::Overloaded(_) => e.set("retryAfter", RETRY_AFTER_SECONDS),
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

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Refused(r) => {
                let message = r.message;
                match r.kind {
                    ErrorKind::Input => {
                        Self::bad_input(camel_path(r.field.unwrap_or("input")), message)
                    }
                    ErrorKind::NotFound => Self::NotFound(message),
                    ErrorKind::Forbidden => Self::Forbidden(message),
                    ErrorKind::Rule => Self::Rule {
                        rule: r.code.to_owned(),
                        message,
                        reasons: r.reasons,
                    },
                }
            }
            CommandError::NotFound(m) => Self::NotFound(m),
            CommandError::BadInput { field, message } => Self::BadInput {
                field: camel_path(&field),
                message,
            },
            CommandError::Conflict(m) => Self::Conflict(m),
            CommandError::Overloaded(m) => Self::Overloaded(m),
            CommandError::Internal(m) => Self::Internal(m),
        }
    }
}

/// `head.id_number` → `head.idNumber`: domain fields are snake_case, GraphQL is camelCase.
pub fn camel_path(path: &str) -> String {
    path.split('.')
        .map(|seg| {
            let mut out = String::new();
            let mut up = false;
            for c in seg.chars() {
                if c == '_' {
                    up = true;
                } else if up {
                    out.extend(c.to_uppercase());
                    up = false;
                } else {
                    out.push(c);
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join(".")
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownLedger(l) => Self::NotFound(format!("unknown ledger {l}")),
            StoreError::Invalid(m) => Self::bad_input("input", m),
            StoreError::Database(d) => d.into(),
            StoreError::Unavailable(m) => Self::internal(m),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if dixian_store::db::is_overload(&e) {
            Self::Overloaded(dixian_commands::error::OVERLOADED.into())
        } else {
            Self::internal(e)
        }
    }
}

/// Gives async-graphql's own input errors the table's code: a variable or argument that does
/// not coerce to its type (an enum value that is not a code, a string where a number goes)
/// becomes `BAD_USER_INPUT` with `field` naming the input path without the argument
/// (`input.head.relation` → `head.relation`), like the domain's own field errors. Run on every
/// response, not as a schema extension (see `parse_cache` for why).
pub fn code_coercion_errors(resp: &mut async_graphql::Response) {
    const PREFIX: &str = "Invalid value for argument \"";
    for e in &mut resp.errors {
        if e.extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some())
        {
            continue;
        }
        let Some(rest) = e.message.strip_prefix(PREFIX) else {
            continue;
        };
        let path = rest.split('"').next().unwrap_or_default();
        let field = path.split_once('.').map_or(path, |(_, f)| f).to_owned();
        let ext = e.extensions.get_or_insert_with(Default::default);
        ext.set("code", "BAD_USER_INPUT");
        ext.set("field", field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_field_paths_become_graphql_field_paths() {
        assert_eq!(camel_path("head.id_number"), "head.idNumber");
        assert_eq!(
            camel_path("baseline_per_capita_fen"),
            "baselinePerCapitaFen"
        );
        assert_eq!(camel_path("input"), "input");
    }

    #[test]
    fn coercion_errors_get_the_input_code_and_the_field() {
        let mut resp = async_graphql::Response::from_errors(vec![
            async_graphql::ServerError::new(
                "Invalid value for argument \"input.head.relation\", enumeration type \"Relation\" does not contain the value \"BOSS\"",
                None,
            ),
            async_graphql::ServerError::new("Unknown field \"x\"", None),
        ]);
        code_coercion_errors(&mut resp);
        let ext = resp.errors[0].extensions.as_ref().unwrap();
        assert_eq!(
            ext.get("code"),
            Some(&async_graphql::Value::from("BAD_USER_INPUT"))
        );
        assert_eq!(
            ext.get("field"),
            Some(&async_graphql::Value::from("head.relation"))
        );
        assert!(resp.errors[1].extensions.is_none());
    }
}
