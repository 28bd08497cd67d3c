//! The hash chain's canonical byte layout (specified for auditors in docs/hash-chain.md).
//!
//! `hash = SHA-256(prev_hash ‖ canonical(event))`, where `canonical` is a fixed list of fields,
//! each written as a 4-byte big-endian length followed by that many bytes of UTF-8 text, and a
//! missing value written as the length `0xFFFFFFFF` with no bytes. Numbers are decimal text,
//! UUIDs lowercase hyphenated, times integer microseconds since the Unix epoch (UTC) in decimal,
//! JSON bodies the exact stored text. Length prefixes make the encoding injective, so no two
//! different events share canonical bytes; text forms make it reproducible in any language.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::model::{AppendRequest, RecordedEvent};

/// The first field of every canonical encoding; a new layout gets a new tag.
pub const FORMAT_TAG: &str = "dixian-event-v1";

/// The hash before the first event of every ledger.
pub const GENESIS: [u8; 32] = [0; 32];

/// The fields of one event in canonical order. Borrowed so the appender and the verifier hash
/// without copying.
pub struct CanonicalEvent<'a> {
    pub ledger: &'a str,
    pub seq: i64,
    pub stream_id: &'a str,
    pub stream_type: &'a str,
    pub stream_version: i64,
    pub event_id: Uuid,
    pub command_id: Option<Uuid>,
    pub event_type: &'a str,
    pub schema_version: i32,
    pub data: &'a str,
    pub metadata: &'a str,
    pub actor_user: &'a str,
    pub actor_role: &'a str,
    pub actor_jurisdiction: &'a str,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub county_code: &'a str,
}

impl<'a> From<&'a RecordedEvent> for CanonicalEvent<'a> {
    fn from(e: &'a RecordedEvent) -> Self {
        Self {
            ledger: &e.ledger,
            seq: e.seq,
            stream_id: &e.stream_id,
            stream_type: &e.stream_type,
            stream_version: e.stream_version,
            event_id: e.event_id,
            command_id: e.command_id,
            event_type: &e.event_type,
            schema_version: e.schema_version,
            data: &e.data,
            metadata: &e.metadata,
            actor_user: &e.actor_user,
            actor_role: &e.actor_role,
            actor_jurisdiction: &e.actor_jurisdiction,
            correlation_id: e.correlation_id,
            causation_id: e.causation_id,
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
            county_code: &e.county_code,
        }
    }
}

struct Writer<'h>(&'h mut Sha256);

impl Writer<'_> {
    fn text(&mut self, s: &str) {
        let len = u32::try_from(s.len()).expect("fields are bounded far below 4 GiB");
        self.0.update(len.to_be_bytes());
        self.0.update(s.as_bytes());
    }

    fn null(&mut self) {
        self.0.update(u32::MAX.to_be_bytes());
    }

    fn int(&mut self, n: i64) {
        self.text(&n.to_string());
    }

    fn uuid(&mut self, u: Option<Uuid>) {
        match u {
            Some(u) => self.text(&u.hyphenated().to_string()),
            None => self.null(),
        }
    }

    fn time(&mut self, t: DateTime<Utc>) {
        self.int(t.timestamp_micros());
    }
}

impl CanonicalEvent<'_> {
    /// The chain link: SHA-256 of the previous hash followed by this event's canonical bytes.
    pub fn chain_hash(&self, prev_hash: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(prev_hash);
        let mut w = Writer(&mut h);
        w.text(FORMAT_TAG);
        w.text(self.ledger);
        w.int(self.seq);
        w.text(self.stream_id);
        w.text(self.stream_type);
        w.int(self.stream_version);
        w.uuid(Some(self.event_id));
        w.uuid(self.command_id);
        w.text(self.event_type);
        w.int(i64::from(self.schema_version));
        w.text(self.data);
        w.text(self.metadata);
        w.text(self.actor_user);
        w.text(self.actor_role);
        w.text(self.actor_jurisdiction);
        w.uuid(self.correlation_id);
        w.uuid(self.causation_id);
        w.time(self.occurred_at);
        w.time(self.recorded_at);
        w.text(self.county_code);
        h.finalize().into()
    }
}

/// What makes two requests "the same" for idempotency when the caller gives no fingerprint:
/// the stream, the expected version, and each event's type, schema, body and business time.
/// Event ids and metadata are left out because clients regenerate them on retry.
pub fn request_fingerprint(req: &AppendRequest) -> [u8; 32] {
    if let Some(f) = req.fingerprint {
        return f;
    }
    let mut h = Sha256::new();
    let mut w = Writer(&mut h);
    w.text("dixian-request-v1");
    w.text(&req.stream_id);
    w.text(&req.stream_type);
    w.text(&req.expected.tag());
    w.int(req.events.len() as i64);
    for e in &req.events {
        w.text(&e.event_type);
        w.int(i64::from(e.schema_version));
        w.text(&e.data);
        w.time(e.occurred_at);
    }
    h.finalize().into()
}

/// Hash any bytes with SHA-256; used for fingerprints of client inputs.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RecordedEvent {
        let t = DateTime::parse_from_rfc3339("2026-03-01T08:30:00.123456Z")
            .unwrap()
            .to_utc();
        RecordedEvent {
            ledger: "370305".into(),
            seq: 1,
            stream_id: "household-0190f4b2-7c1e-7000-8000-000000000001".into(),
            stream_type: "household".into(),
            stream_version: 1,
            event_id: Uuid::parse_str("0190f4b2-7c1e-7000-8000-0000000000e1").unwrap(),
            command_id: Some(Uuid::parse_str("0190f4b2-7c1e-7000-8000-0000000000c1").unwrap()),
            event_type: "HouseholdRegistered".into(),
            schema_version: 1,
            data: r#"{"village":"370305004201","head":"张三"}"#.into(),
            metadata: "{}".into(),
            actor_user: "u-grid-1".into(),
            actor_role: "GRID_WORKER".into(),
            actor_jurisdiction: "370305004201".into(),
            correlation_id: None,
            causation_id: None,
            occurred_at: t,
            recorded_at: t,
            county_code: "370305".into(),
            prev_hash: GENESIS.to_vec(),
            hash: vec![],
        }
    }

    /// The worked example of docs/hash-chain.md: if this changes, the document (and every
    /// auditor's verifier) is wrong.
    #[test]
    fn the_documented_example_hashes_to_the_documented_value() {
        let e = sample();
        let h = CanonicalEvent::from(&e).chain_hash(&GENESIS);
        assert_eq!(
            hex::encode(h),
            "503ebde6c690a7622e846ca320cd8e74d562ddc70b3c412ee377de062695e55d"
        );
    }

    #[test]
    fn any_field_change_changes_the_hash() {
        let base = sample();
        let h0 = CanonicalEvent::from(&base).chain_hash(&GENESIS);
        let mut changed = base.clone();
        changed.data = r#"{"village":"370305004201","head":"张四"}"#.into();
        assert_ne!(h0, CanonicalEvent::from(&changed).chain_hash(&GENESIS));
        let mut changed = base.clone();
        changed.recorded_at += chrono::Duration::microseconds(1);
        assert_ne!(h0, CanonicalEvent::from(&changed).chain_hash(&GENESIS));
        let mut changed = base.clone();
        changed.command_id = None;
        assert_ne!(h0, CanonicalEvent::from(&changed).chain_hash(&GENESIS));
        assert_ne!(h0, CanonicalEvent::from(&base).chain_hash(&[1; 32]));
    }

    #[test]
    fn moving_bytes_between_adjacent_fields_changes_the_hash() {
        let mut a = sample();
        a.actor_user = "ab".into();
        a.actor_role = "c".into();
        let mut b = sample();
        b.actor_user = "a".into();
        b.actor_role = "bc".into();
        assert_ne!(
            CanonicalEvent::from(&a).chain_hash(&GENESIS),
            CanonicalEvent::from(&b).chain_hash(&GENESIS)
        );
    }
}
