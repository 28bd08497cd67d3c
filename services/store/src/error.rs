//! Store errors, split the way callers must react: a conflict is retried after re-reading, a
//! refused request is reported to the user, an infrastructure failure is logged and reported
//! generically.

use uuid::Uuid;

/// Why an append did not happen. Nothing was written in every case.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Optimistic concurrency: the stream moved since the caller read it.
    #[error("stream {stream_id} is at version {actual}, the command expected {expected}")]
    Conflict {
        stream_id: String,
        expected: String,
        actual: i64,
    },
    /// A unique key the append would take is held by another stream (see `Claim`).
    #[error("{key} is held by {holder}")]
    Claimed { key: String, holder: String },
    /// The command id was already used for a different request.
    #[error("command {command_id} was already used for a different request")]
    CommandReused { command_id: Uuid },
    /// Some of the event ids are already stored (on another stream, or only part of the batch).
    #[error("event id {event_id} is already stored in ledger {ledger}")]
    EventIdReused { ledger: String, event_id: Uuid },
    #[error("a command must carry at least one event")]
    Empty,
    #[error("a command may carry at most {limit} events, got {got}")]
    TooManyEvents { got: usize, limit: usize },
    #[error("event {index} is {size} bytes, the limit is {limit}")]
    TooLarge {
        index: usize,
        size: usize,
        limit: usize,
    },
    #[error("unknown ledger {ledger}")]
    UnknownLedger { ledger: String },
    /// A stream belongs to one ledger for life.
    #[error("stream {stream_id} belongs to ledger {home}, not {requested}")]
    WrongLedger {
        stream_id: String,
        home: String,
        requested: String,
    },
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// Text the log refuses (see [`crate::text`]); `path` is the field within the event body.
    #[error(
        "{path}: text may not contain U+{code_point:04X} (control and bidi-override characters are refused)"
    )]
    ForbiddenText {
        index: usize,
        path: String,
        code_point: u32,
    },
    /// The ledger's writer queue is full: retry after a short pause.
    #[error("ledger {ledger} is overloaded, retry shortly")]
    Overloaded { ledger: String },
    /// The server is shutting down and takes no new commands.
    #[error("the store is shutting down")]
    ShuttingDown,
    /// A caller-supplied inline read-model update failed; the append was rolled back.
    #[error("inline projection failed: {0}")]
    Inline(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl AppendError {
    /// A stable machine-readable code (used in GraphQL `extensions.code` mapping and metrics).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Conflict { .. } | Self::Claimed { .. } => "CONFLICT",
            Self::CommandReused { .. } => "COMMAND_ID_REUSED",
            Self::EventIdReused { .. } => "EVENT_ID_REUSED",
            Self::Empty => "EMPTY_COMMAND",
            Self::TooManyEvents { .. } => "TOO_MANY_EVENTS",
            Self::TooLarge { .. } => "EVENT_TOO_LARGE",
            Self::UnknownLedger { .. } => "UNKNOWN_LEDGER",
            Self::WrongLedger { .. } => "WRONG_LEDGER",
            Self::Invalid { .. } | Self::ForbiddenText { .. } => "BAD_USER_INPUT",
            Self::Overloaded { .. } => "OVERLOADED",
            Self::ShuttingDown => "SHUTTING_DOWN",
            Self::Inline(_) => "INTERNAL",
            Self::Database(_) => "INTERNAL",
        }
    }

    /// Whether the same command may succeed if simply sent again later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Overloaded { .. } | Self::ShuttingDown | Self::Database(_)
        )
    }
}

/// Reading and verification errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unknown ledger {0}")]
    UnknownLedger(String),
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A read done on the caller's behalf (a batched probe) failed; the message is the cause.
    #[error("database error: {0}")]
    Unavailable(String),
}
