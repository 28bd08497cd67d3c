//! Reading the log: streams (whole, from a version, as known at a recorded time, as it was at a
//! business time) and ledger feeds (`seq > n`, ordered, batched).

use std::collections::HashMap;

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

/// A row of [`EVENT_COLUMNS`]. By position, not name: a name is a hash lookup per column, and
/// a stream read decodes 21 columns per event.
pub(crate) fn event_from_row(r: &PgRow) -> Result<RecordedEvent, sqlx::Error> {
    let at = 0;
    Ok(RecordedEvent {
        ledger: r.try_get(at)?,
        seq: r.try_get(at + 1)?,
        stream_id: r.try_get(at + 2)?,
        stream_type: r.try_get(at + 3)?,
        stream_version: r.try_get(at + 4)?,
        event_id: r.try_get(at + 5)?,
        command_id: r.try_get(at + 6)?,
        event_type: r.try_get(at + 7)?,
        schema_version: r.try_get(at + 8)?,
        data: r.try_get(at + 9)?,
        metadata: r.try_get(at + 10)?,
        actor_user: r.try_get(at + 11)?,
        actor_role: r.try_get(at + 12)?,
        actor_jurisdiction: r.try_get(at + 13)?,
        correlation_id: r.try_get(at + 14)?,
        causation_id: r.try_get(at + 15)?,
        occurred_at: r.try_get(at + 16)?,
        recorded_at: r.try_get(at + 17)?,
        county_code: r.try_get(at + 18)?,
        prev_hash: r.try_get(at + 19)?,
        hash: r.try_get(at + 20)?,
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

/// Where a stream stands now and what it gained above a version the reader already holds: one
/// part of the answer of [`read_streams_since`].
#[derive(Debug, Clone)]
pub struct StreamTail {
    pub stream_id: String,
    pub ledger: String,
    /// The stream's version now.
    pub version: i64,
    /// The version `events` follow: the `since` asked for, or 0 when that was above the
    /// stream's version (the reader held something this log never had, so it gets everything).
    pub from: i64,
    /// The events with versions in `from + 1 ..= version`, in order.
    pub events: Vec<RecordedEvent>,
}

/// For each `(stream id, since)`: the stream's current version and the events above `since`.
/// This is the read behind version-checked caches of folded streams. When nothing changed it is
/// one statement, a primary-key probe per stream, and moves no event; only streams that moved are
/// then read, from `since`. (One statement joining the events laterally was tried first: its
/// planning alone made PostgreSQL the busiest process of the dossier benchmark.)
///
/// The events of a moved stream are read after its version was, so they may go beyond it (a
/// command committed in between); `version` is then the last event's. Streams that do not exist
/// are absent from the answer; the others come in the order asked.
pub async fn read_streams_since(
    conn: &mut PgConnection,
    streams: &[(&str, i64)],
) -> Result<Vec<StreamTail>, StoreError> {
    Ok(read_streams_aligned(conn, streams)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// [`read_streams_since`] with one answer per request, in order (`None`: no such stream), so
/// a batch of several readers' requests can be handed back to each of them.
pub(crate) async fn read_streams_aligned(
    conn: &mut PgConnection,
    streams: &[(&str, i64)],
) -> Result<Vec<Option<StreamTail>>, StoreError> {
    let ids: Vec<&str> = streams.iter().map(|(id, _)| *id).collect();
    let heads: Vec<(String, String, i64)> = sqlx::query_as(
        "select stream_id, ledger, version from es.stream where stream_id = any($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    // A batch of readers can ask for a few hundred streams: look them up, don't scan.
    let heads: HashMap<&str, (&str, i64)> = heads
        .iter()
        .map(|(s, l, v)| (s.as_str(), (l.as_str(), *v)))
        .collect();
    let mut out = Vec::with_capacity(streams.len());
    for (id, since) in streams {
        let Some(&(ledger, version)) = heads.get(id) else {
            out.push(None);
            continue;
        };
        // A reader ahead of the log (a cache that outlived its database) starts over.
        let from = if *since > version { 0 } else { *since };
        let events = if version > from {
            stream_events_after(conn, ledger, id, from).await?
        } else {
            Vec::new()
        };
        let version = events
            .last()
            .map_or(version, |e| e.stream_version.max(version));
        out.push(Some(StreamTail {
            stream_id: (*id).to_owned(),
            ledger: ledger.to_owned(),
            version,
            from,
            events,
        }));
    }
    Ok(out)
}

/// The events of a stream whose ledger is known, above a version.
async fn stream_events_after(
    conn: &mut PgConnection,
    ledger: &str,
    stream_id: &str,
    after: i64,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql = format!(
        "select {EVENT_COLUMNS} from es.event
          where ledger = $1 and stream_id = $2 and stream_version > $3
          order by stream_version"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ledger)
        .bind(stream_id)
        .bind(after)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
}
