//! Reading the log: streams (whole, from a version, as known at a recorded time, as it was at a
//! business time) and ledger feeds (`seq > n`, ordered, batched).

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::error::StoreError;
use crate::model::{LedgerHead, RecordedEvent};

/// Every stored column, in the order `event_from_row` reads them.
pub(crate) const EVENT_COLUMNS: &str = "ledger, seq, stream_id, stream_type, stream_version, \
     event_id, command_id, event_type, schema_version, data::text as data, metadata::text as metadata, \
     actor_user, actor_role, actor_jurisdiction, correlation_id, causation_id, occurred_at, \
     recorded_at, county_code, prev_hash, hash";

pub(crate) fn event_from_row(r: &PgRow) -> Result<RecordedEvent, sqlx::Error> {
    Ok(RecordedEvent {
        ledger: r.try_get("ledger")?,
        seq: r.try_get("seq")?,
        stream_id: r.try_get("stream_id")?,
        stream_type: r.try_get("stream_type")?,
        stream_version: r.try_get("stream_version")?,
        event_id: r.try_get("event_id")?,
        command_id: r.try_get("command_id")?,
        event_type: r.try_get("event_type")?,
        schema_version: r.try_get("schema_version")?,
        data: r.try_get("data")?,
        metadata: r.try_get("metadata")?,
        actor_user: r.try_get("actor_user")?,
        actor_role: r.try_get("actor_role")?,
        actor_jurisdiction: r.try_get("actor_jurisdiction")?,
        correlation_id: r.try_get("correlation_id")?,
        causation_id: r.try_get("causation_id")?,
        occurred_at: r.try_get("occurred_at")?,
        recorded_at: r.try_get("recorded_at")?,
        county_code: r.try_get("county_code")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// Which part of a stream to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamRead {
    /// Only events with a version above this (0 = from the start).
    pub after_version: i64,
    /// "As the system knew it then": only events recorded at or before this instant. Because
    /// `recorded_at` is monotonic per ledger, this is exactly a prefix of the ledger.
    pub known_at: Option<DateTime<Utc>>,
    /// "As it was then": only events whose business time is at or before this instant.
    pub as_of: Option<DateTime<Utc>>,
}

/// The events of one stream in version order.
pub async fn read_stream(
    conn: &mut PgConnection,
    stream_id: &str,
    read: StreamRead,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql = format!(
        "select {EVENT_COLUMNS} from es.event
          where ledger = (select ledger from es.stream where stream_id = $1)
            and stream_id = $1 and stream_version > $2
            and ($3::timestamptz is null or recorded_at <= $3)
            and ($4::timestamptz is null or occurred_at <= $4)
          order by stream_version"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(stream_id)
        .bind(read.after_version)
        .bind(read.known_at)
        .bind(read.as_of)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
}

/// A page of a ledger's feed: events with `seq > after`, in seq order, at most `limit`.
/// Because seq is assigned under the head lock and a transaction becomes visible before its
/// lock is released, a reader that sees seq k+1 has already been able to see seq k: the feed has
/// no holes, ever, so a reader needs no gap detection.
pub async fn read_ledger(
    conn: &mut PgConnection,
    ledger: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql = format!(
        "select {EVENT_COLUMNS} from es.event where ledger = $1 and seq > $2 order by seq limit $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ledger)
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
}

/// The head of one ledger.
pub async fn ledger_head(
    conn: &mut PgConnection,
    ledger: &str,
) -> Result<Option<LedgerHead>, StoreError> {
    let row = sqlx::query(
        "select ledger, county_code, last_seq, head_hash, last_recorded_at from es.ledger where ledger = $1",
    )
    .bind(ledger)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(head_from_row).transpose()?)
}

/// Every ledger's head, ordered by ledger id.
pub async fn ledger_heads(conn: &mut PgConnection) -> Result<Vec<LedgerHead>, StoreError> {
    let rows = sqlx::query(
        "select ledger, county_code, last_seq, head_hash, last_recorded_at from es.ledger order by ledger",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(head_from_row).collect::<Result<_, _>>()?)
}

fn head_from_row(r: &PgRow) -> Result<LedgerHead, sqlx::Error> {
    Ok(LedgerHead {
        ledger: r.try_get("ledger")?,
        county_code: r.try_get("county_code")?,
        last_seq: r.try_get("last_seq")?,
        head_hash: r.try_get("head_hash")?,
        last_recorded_at: r.try_get("last_recorded_at")?,
    })
}

/// The last seq of a ledger recorded at or before `at` (0 when none): "as known at T" for the
/// whole ledger.
pub async fn seq_known_at(
    conn: &mut PgConnection,
    ledger: &str,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let seq: Option<i64> =
        sqlx::query_scalar("select max(seq) from es.event where ledger = $1 and recorded_at <= $2")
            .bind(ledger)
            .bind(at)
            .fetch_one(&mut *conn)
            .await?;
    Ok(seq.unwrap_or(0))
}

/// The current version of a stream and its home ledger, if it exists.
pub async fn stream_version(
    conn: &mut PgConnection,
    stream_id: &str,
) -> Result<Option<(String, i64)>, StoreError> {
    let row = sqlx::query("select ledger, version from es.stream where stream_id = $1")
        .bind(stream_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| (r.get("ledger"), r.get("version"))))
}
