//! The shapes that cross the store's boundary: what a caller appends and what it reads back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppendError;

/// Largest accepted event body (data plus metadata), in bytes. A household dossier event is a
/// few kilobytes; anything near this is a bug or an attachment that belongs in object storage
/// (events carry attachment *hashes*, never files).
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// Largest number of events in one command. Department feed imports are split by the caller.
pub const MAX_EVENTS_PER_COMMAND: usize = 1000;

/// A ledger: one county's totally ordered, gap-free, hash-chained log. Its id is the county's
/// 6-digit region code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LedgerId(String);

impl LedgerId {
    /// A ledger id is a 6-digit county code.
    pub fn parse(s: &str) -> Result<Self, AppendError> {
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(AppendError::Invalid {
                field: "ledger",
                reason: format!("a ledger is a 6-digit county code, got {s:?}"),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LedgerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who did it, as the server established it from the caller's token (never from the body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub role: String,
    pub jurisdiction: String,
}

impl Actor {
    /// The actor for work the system itself does (migrations, demo loading, scheduled checks).
    pub fn system() -> Self {
        Self {
            user: "system".into(),
            role: "SYSTEM".into(),
            jurisdiction: String::new(),
        }
    }
}

/// What the stream's version must be for the append to go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// Commutative observations (a visit uploaded from an offline phone) may use this.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be at exactly this version (1-based; the version of its last event).
    Exact(i64),
}

impl ExpectedVersion {
    pub(crate) fn accepts(self, actual: i64) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => actual == 0,
            Self::Exact(v) => actual == v,
        }
    }

    pub(crate) fn tag(self) -> String {
        match self {
            Self::Any => "any".into(),
            Self::NoStream => "no-stream".into(),
            Self::Exact(v) => v.to_string(),
        }
    }
}

/// One event to append. `data` and `metadata` are serialised once, here, and those exact bytes
/// are stored and hashed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    pub data: String,
    pub metadata: String,
    /// Business time: when it happened in the world (the device's clock for offline capture).
    pub occurred_at: DateTime<Utc>,
}

impl NewEvent {
    /// An event from any serialisable body, with empty metadata.
    pub fn new(
        event_id: Uuid,
        event_type: impl Into<String>,
        data: &impl Serialize,
        occurred_at: DateTime<Utc>,
    ) -> Result<Self, AppendError> {
        let data = serde_json::to_string(data).map_err(|e| AppendError::Invalid {
            field: "data",
            reason: format!("event body does not serialise: {e}"),
        })?;
        Ok(Self {
            event_id,
            event_type: event_type.into(),
            schema_version: 1,
            data,
            metadata: "{}".into(),
            occurred_at,
        })
    }

    pub fn with_metadata(mut self, metadata: &serde_json::Value) -> Self {
        self.metadata = metadata.to_string();
        self
    }
}

/// A command's events for one stream, appended atomically.
#[derive(Debug, Clone)]
pub struct AppendRequest {
    pub ledger: LedgerId,
    pub stream_id: String,
    pub stream_type: String,
    pub expected: ExpectedVersion,
    /// The client's command id: a retry with the same id and the same request returns the
    /// original result; with a different request it is refused.
    pub command_id: Option<Uuid>,
    /// What identifies "the same request" for idempotency. Callers that generate ids or times
    /// per attempt pass a fingerprint of the client's input; otherwise it is derived from the
    /// stream, the expected version and the events' types, bodies and business times.
    pub fingerprint: Option<[u8; 32]>,
    pub actor: Actor,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub events: Vec<NewEvent>,
    /// Unique keys the stream takes or gives up with this append, checked and written under
    /// the ledger lock with the events (see [`Claim`]).
    pub claims: Vec<Claim>,
}

/// A key held by at most one stream of a ledger at a time (`es.claim`): "the open alert about
/// household H for trigger T". Taking a key another stream holds refuses the append with
/// [`AppendError::Claimed`](crate::AppendError::Claimed), naming the holder, and nothing is
/// written; so two writers that both saw the key free cannot both take it, without a lock
/// held across their reads. The table is an index of the log: which events take and release a
/// key is the domain's rule (`Decider::unique_keys`), applied on every append.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Claim {
    /// Hold `key` from this append on (a no-op if this stream holds it already).
    Take(String),
    /// Give `key` up (a no-op unless this stream holds it).
    Release(String),
}

impl Claim {
    pub fn key(&self) -> &str {
        match self {
            Self::Take(k) | Self::Release(k) => k,
        }
    }
}

/// Longest claim key, in bytes.
pub const MAX_CLAIM_KEY_BYTES: usize = 512;

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub seq: i64,
}

/// The answer to an append; a retried command gets the original answer with `duplicate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub ledger: LedgerId,
    pub stream_id: String,
    pub first_seq: i64,
    pub last_seq: i64,
    pub stream_version: i64,
    pub recorded_at: DateTime<Utc>,
    pub duplicate: bool,
}

/// An event as stored, with its position and its link in the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedEvent {
    pub ledger: String,
    pub seq: i64,
    pub stream_id: String,
    pub stream_type: String,
    pub stream_version: i64,
    pub event_id: Uuid,
    pub command_id: Option<Uuid>,
    pub event_type: String,
    pub schema_version: i32,
    /// The exact JSON text that was stored and hashed.
    pub data: String,
    pub metadata: String,
    pub actor_user: String,
    pub actor_role: String,
    pub actor_jurisdiction: String,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub county_code: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl RecordedEvent {
    /// The body, decoded into a typed event.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(&self.data)
    }

    /// Decodes for a read model: text PostgreSQL cannot store (U+0000, in events stored before
    /// the log refused it) comes out as U+FFFD, so that no stored event can stop a projection.
    pub fn decode_storable<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        if !self.data.contains("\\u0000") {
            return self.decode();
        }
        let mut value: serde_json::Value = serde_json::from_str(&self.data)?;
        crate::text::make_storable(&mut value);
        serde_json::from_value(value)
    }

    pub fn hash_hex(&self) -> String {
        hex::encode(&self.hash)
    }
}

/// A ledger's head: its last position and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerHead {
    pub ledger: String,
    pub county_code: String,
    pub last_seq: i64,
    pub head_hash: Vec<u8>,
    pub last_recorded_at: Option<DateTime<Utc>>,
}
