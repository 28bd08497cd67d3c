//! The append path: everything between taking the ledger head lock and the commit.
//!
//! Requests arrive in batches (one request for a direct append, many under group commit). Every
//! request is checked on its own — idempotency, event ids, stream home, expected version — in
//! memory against what the database holds plus what earlier requests of the same batch did, so a
//! refused request is simply left out and the others go on. Only the accepted rows are written,
//! with one statement per table, and the head moves once.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::error::AppendError;
use crate::hash::{CanonicalEvent, request_fingerprint};
use crate::model::{
    AppendRequest, Appended, MAX_EVENT_BYTES, MAX_EVENTS_PER_COMMAND, RecordedEvent,
};

/// A boxed future, so inline projections can be stored as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A read model updated inside the append transaction, for state a mutation must read back
/// at once. Keep these small: they hold the ledger lock while they run.
pub trait InlineProjection: Send + Sync {
    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [RecordedEvent],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>>;
}

/// Checks a request's shape before any lock is taken.
pub(crate) fn validate(req: &AppendRequest) -> Result<(), AppendError> {
    if req.events.is_empty() {
        return Err(AppendError::Empty);
    }
    if req.events.len() > MAX_EVENTS_PER_COMMAND {
        return Err(AppendError::TooManyEvents {
            got: req.events.len(),
            limit: MAX_EVENTS_PER_COMMAND,
        });
    }
    if req.stream_id.is_empty() || req.stream_id.len() > 200 {
        return Err(AppendError::Invalid {
            field: "streamId",
            reason: "a stream id has 1 to 200 characters".into(),
        });
    }
    if req.stream_type.is_empty() {
        return Err(AppendError::Invalid {
            field: "streamType",
            reason: "a stream type is required".into(),
        });
    }
    let mut ids = HashSet::new();
    for (index, e) in req.events.iter().enumerate() {
        let size = e.data.len() + e.metadata.len();
        if size > MAX_EVENT_BYTES {
            return Err(AppendError::TooLarge {
                index,
                size,
                limit: MAX_EVENT_BYTES,
            });
        }
        if e.event_type.is_empty() {
            return Err(AppendError::Invalid {
                field: "eventType",
                reason: format!("event {index} has no type"),
            });
        }
        if e.schema_version < 1 {
            return Err(AppendError::Invalid {
                field: "schemaVersion",
                reason: format!("event {index}: schema versions start at 1"),
            });
        }
        for (field, text) in [("data", &e.data), ("metadata", &e.metadata)] {
            if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
                return Err(AppendError::Invalid {
                    field,
                    reason: format!("event {index}: {field} is not valid JSON"),
                });
            }
        }
        if !ids.insert(e.event_id) {
            return Err(AppendError::Invalid {
                field: "eventId",
                reason: format!("event id {} appears twice in one command", e.event_id),
            });
        }
    }
    Ok(())
}

struct Head {
    last_seq: i64,
    head_hash: Vec<u8>,
    county_code: String,
    recorded_at: DateTime<Utc>,
}

struct KnownCommand {
    request_hash: Vec<u8>,
    stream_id: String,
    answer: Appended,
}

/// Outcome of one batch: per-request answers, plus the rows written (for wake-ups).
pub(crate) struct BatchOutcome {
    pub results: Vec<Result<Appended, AppendError>>,
    pub last_seq: Option<i64>,
}

/// Appends a batch of requests for one ledger inside the caller's transaction. Returns an error
/// only when the transaction itself failed (the caller rolls back); refusals of single requests
/// are in the per-request results.
pub(crate) async fn append_batch(
    conn: &mut PgConnection,
    ledger: &str,
    reqs: &[&AppendRequest],
    inline: &[std::sync::Arc<dyn InlineProjection>],
) -> Result<BatchOutcome, sqlx::Error> {
    let head = sqlx::query(
        "select last_seq, head_hash, county_code,
                greatest(clock_timestamp(), coalesce(last_recorded_at, '-infinity')) as now
           from es.ledger where ledger = $1 for no key update",
    )
    .bind(ledger)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(head) = head else {
        let results = reqs
            .iter()
            .map(|_| {
                Err(AppendError::UnknownLedger {
                    ledger: ledger.to_owned(),
                })
            })
            .collect();
        return Ok(BatchOutcome {
            results,
            last_seq: None,
        });
    };
    let mut head = Head {
        last_seq: head.try_get("last_seq")?,
        head_hash: head.try_get("head_hash")?,
        county_code: head.try_get("county_code")?,
        recorded_at: head.try_get::<DateTime<Utc>, _>("now")?.trunc_subsecs(6),
    };

    let command_ids: Vec<Uuid> = reqs.iter().filter_map(|r| r.command_id).collect();
    let mut commands = load_commands(conn, ledger, &command_ids).await?;
    let event_ids: Vec<Uuid> = reqs
        .iter()
        .flat_map(|r| r.events.iter().map(|e| e.event_id))
        .collect();
    let stored_events = load_event_ids(conn, ledger, &event_ids).await?;
    let stream_ids: Vec<String> = reqs.iter().map(|r| r.stream_id.clone()).collect();
    let mut streams = load_streams(conn, &stream_ids).await?;

    let mut results = Vec::with_capacity(reqs.len());
    let mut rows: Vec<RecordedEvent> = Vec::new();
    let mut batch_event_ids: HashSet<Uuid> = HashSet::new();
    let mut new_commands: Vec<(Uuid, Vec<u8>, Appended)> = Vec::new();
    let mut touched_streams: Vec<String> = Vec::new();

    for req in reqs {
        let fingerprint = request_fingerprint(req);
        // 1. Idempotency first: a retry whose first attempt committed gets its original answer,
        //    not a version conflict.
        if let Some(command_id) = req.command_id {
            if let Some(known) = commands.get(&command_id) {
                if known.request_hash == fingerprint && known.stream_id == req.stream_id {
                    results.push(Ok(Appended {
                        duplicate: true,
                        ..known.answer.clone()
                    }));
                } else {
                    results.push(Err(AppendError::CommandReused { command_id }));
                }
                continue;
            }
        }
        match event_id_duplicate(req, &stored_events, &batch_event_ids, ledger) {
            Some(answer) => {
                results.push(answer);
                continue;
            }
            None => {}
        }
        // 2. A stream belongs to one ledger for life.
        let (home, version, stream_type) = match streams.get(&req.stream_id) {
            Some(s) => (Some(s.0.clone()), s.1, Some(s.2.clone())),
            None => (None, 0, None),
        };
        if let Some(home) = home.filter(|h| h != ledger) {
            results.push(Err(AppendError::WrongLedger {
                stream_id: req.stream_id.clone(),
                home,
                requested: ledger.to_owned(),
            }));
            continue;
        }
        if let Some(t) = stream_type.filter(|t| *t != req.stream_type) {
            results.push(Err(AppendError::Invalid {
                field: "streamType",
                reason: format!(
                    "stream {} is of type {t}, not {}",
                    req.stream_id, req.stream_type
                ),
            }));
            continue;
        }
        // 3. Optimistic concurrency.
        if !req.expected.accepts(version) {
            results.push(Err(AppendError::Conflict {
                stream_id: req.stream_id.clone(),
                expected: req.expected.tag(),
                actual: version,
            }));
            continue;
        }
        // 4. Positions, time and the hash chain.
        let first_seq = head.last_seq + 1;
        for (i, e) in req.events.iter().enumerate() {
            let seq = head.last_seq + 1;
            let row = RecordedEvent {
                ledger: ledger.to_owned(),
                seq,
                stream_id: req.stream_id.clone(),
                stream_type: req.stream_type.clone(),
                stream_version: version + 1 + i as i64,
                event_id: e.event_id,
                command_id: req.command_id,
                event_type: e.event_type.clone(),
                schema_version: e.schema_version,
                data: e.data.clone(),
                metadata: e.metadata.clone(),
                actor_user: req.actor.user.clone(),
                actor_role: req.actor.role.clone(),
                actor_jurisdiction: req.actor.jurisdiction.clone(),
                correlation_id: req.correlation_id,
                causation_id: req.causation_id,
                // PostgreSQL keeps microseconds: hash exactly what will be stored.
                occurred_at: e.occurred_at.trunc_subsecs(6),
                recorded_at: head.recorded_at,
                county_code: head.county_code.clone(),
                prev_hash: head.head_hash.clone(),
                hash: Vec::new(),
            };
            let hash = CanonicalEvent::from(&row).chain_hash(&row.prev_hash);
            let row = RecordedEvent {
                hash: hash.to_vec(),
                ..row
            };
            head.last_seq = seq;
            head.head_hash = hash.to_vec();
            batch_event_ids.insert(e.event_id);
            rows.push(row);
        }
        let new_version = version + req.events.len() as i64;
        streams.insert(
            req.stream_id.clone(),
            (ledger.to_owned(), new_version, req.stream_type.clone()),
        );
        if !touched_streams.contains(&req.stream_id) {
            touched_streams.push(req.stream_id.clone());
        }
        let answer = Appended {
            ledger: crate::model::LedgerId::parse(ledger)
                .map_err(|e| sqlx::Error::Protocol(e.to_string()))?,
            stream_id: req.stream_id.clone(),
            first_seq,
            last_seq: head.last_seq,
            stream_version: new_version,
            recorded_at: head.recorded_at,
            duplicate: false,
        };
        if let Some(command_id) = req.command_id {
            commands.insert(
                command_id,
                KnownCommand {
                    request_hash: fingerprint.to_vec(),
                    stream_id: req.stream_id.clone(),
                    answer: answer.clone(),
                },
            );
            new_commands.push((command_id, fingerprint.to_vec(), answer.clone()));
        }
        results.push(Ok(answer));
    }

    if rows.is_empty() {
        return Ok(BatchOutcome {
            results,
            last_seq: None,
        });
    }
    insert_events(conn, &rows, &head.county_code, head.recorded_at).await?;
    upsert_streams(
        conn,
        ledger,
        &touched_streams,
        &streams,
        &rows,
        head.recorded_at,
    )
    .await?;
    insert_commands(conn, ledger, &new_commands).await?;
    sqlx::query(
        "update es.ledger set last_seq = $2, head_hash = $3, last_recorded_at = $4 where ledger = $1",
    )
    .bind(ledger)
    .bind(head.last_seq)
    .bind(&head.head_hash)
    .bind(head.recorded_at)
    .execute(&mut *conn)
    .await?;
    for projection in inline {
        projection.apply(&mut *conn, &rows).await?;
    }
    Ok(BatchOutcome {
        results,
        last_seq: Some(head.last_seq),
    })
}

type StoredEvent = (String, i64, i64, DateTime<Utc>);

/// Event-level idempotency for callers without a command id: the same event ids on the same
/// stream are the same append; a partial or foreign overlap is refused.
fn event_id_duplicate(
    req: &AppendRequest,
    stored: &HashMap<Uuid, StoredEvent>,
    in_batch: &HashSet<Uuid>,
    ledger: &str,
) -> Option<Result<Appended, AppendError>> {
    let mut found: Vec<&StoredEvent> = Vec::new();
    for e in &req.events {
        if in_batch.contains(&e.event_id) {
            return Some(Err(AppendError::EventIdReused {
                ledger: ledger.to_owned(),
                event_id: e.event_id,
            }));
        }
        if let Some(s) = stored.get(&e.event_id) {
            found.push(s);
        }
    }
    if found.is_empty() {
        return None;
    }
    let whole = found.len() == req.events.len() && found.iter().all(|s| s.0 == req.stream_id);
    if !whole {
        let id = req
            .events
            .iter()
            .find(|e| stored.contains_key(&e.event_id))
            .map(|e| e.event_id);
        return Some(Err(AppendError::EventIdReused {
            ledger: ledger.to_owned(),
            event_id: id.unwrap_or_default(),
        }));
    }
    let first_seq = found.iter().map(|s| s.1).min().unwrap_or_default();
    let last_seq = found.iter().map(|s| s.1).max().unwrap_or_default();
    let stream_version = found.iter().map(|s| s.2).max().unwrap_or_default();
    let recorded_at = found.iter().map(|s| s.3).max().unwrap_or_default();
    Some(Ok(Appended {
        ledger: crate::model::LedgerId::parse(ledger).ok()?,
        stream_id: req.stream_id.clone(),
        first_seq,
        last_seq,
        stream_version,
        recorded_at,
        duplicate: true,
    }))
}

async fn load_commands(
    conn: &mut PgConnection,
    ledger: &str,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, KnownCommand>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "select command_id, request_hash, stream_id, first_seq, last_seq, stream_version, recorded_at
           from es.command where ledger = $1 and command_id = any($2)",
    )
    .bind(ledger)
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let ledger_id =
        crate::model::LedgerId::parse(ledger).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    rows.into_iter()
        .map(|r| {
            let stream_id: String = r.try_get("stream_id")?;
            Ok((
                r.try_get("command_id")?,
                KnownCommand {
                    request_hash: r.try_get("request_hash")?,
                    stream_id: stream_id.clone(),
                    answer: Appended {
                        ledger: ledger_id.clone(),
                        stream_id,
                        first_seq: r.try_get("first_seq")?,
                        last_seq: r.try_get("last_seq")?,
                        stream_version: r.try_get("stream_version")?,
                        recorded_at: r.try_get("recorded_at")?,
                        duplicate: true,
                    },
                },
            ))
        })
        .collect()
}

async fn load_event_ids(
    conn: &mut PgConnection,
    ledger: &str,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, StoredEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "select event_id, stream_id, seq, stream_version, recorded_at
           from es.event where ledger = $1 and event_id = any($2)",
    )
    .bind(ledger)
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok((
                r.try_get("event_id")?,
                (
                    r.try_get("stream_id")?,
                    r.try_get("seq")?,
                    r.try_get("stream_version")?,
                    r.try_get("recorded_at")?,
                ),
            ))
        })
        .collect()
}

/// stream id → (home ledger, version, type)
async fn load_streams(
    conn: &mut PgConnection,
    ids: &[String],
) -> Result<HashMap<String, (String, i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "select stream_id, ledger, version, stream_type from es.stream where stream_id = any($1)",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok((
                r.try_get("stream_id")?,
                (
                    r.try_get("ledger")?,
                    r.try_get("version")?,
                    r.try_get("stream_type")?,
                ),
            ))
        })
        .collect()
}

async fn insert_events(
    conn: &mut PgConnection,
    rows: &[RecordedEvent],
    county: &str,
    recorded_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let col = |f: fn(&RecordedEvent) -> String| rows.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "insert into es.event (ledger, seq, stream_id, stream_type, stream_version, event_id,
             command_id, event_type, schema_version, data, metadata, actor_user, actor_role,
             actor_jurisdiction, correlation_id, causation_id, occurred_at, recorded_at,
             county_code, prev_hash, hash)
         select $1, u.seq, u.stream_id, u.stream_type, u.stream_version, u.event_id, u.command_id,
                u.event_type, u.schema_version, u.data::json, u.metadata::json, u.actor_user,
                u.actor_role, u.actor_jurisdiction, u.correlation_id, u.causation_id,
                u.occurred_at, $2, $3, u.prev_hash, u.hash
           from unnest($4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::uuid[], $9::uuid[],
                       $10::text[], $11::int[], $12::text[], $13::text[], $14::text[], $15::text[],
                       $16::text[], $17::uuid[], $18::uuid[], $19::timestamptz[], $20::bytea[],
                       $21::bytea[])
             as u(seq, stream_id, stream_type, stream_version, event_id, command_id, event_type,
                  schema_version, data, metadata, actor_user, actor_role, actor_jurisdiction,
                  correlation_id, causation_id, occurred_at, prev_hash, hash)",
    )
    .bind(&rows[0].ledger)
    .bind(recorded_at)
    .bind(county)
    .bind(rows.iter().map(|r| r.seq).collect::<Vec<_>>())
    .bind(col(|r| r.stream_id.clone()))
    .bind(col(|r| r.stream_type.clone()))
    .bind(rows.iter().map(|r| r.stream_version).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.event_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.command_id).collect::<Vec<_>>())
    .bind(col(|r| r.event_type.clone()))
    .bind(rows.iter().map(|r| r.schema_version).collect::<Vec<_>>())
    .bind(col(|r| r.data.clone()))
    .bind(col(|r| r.metadata.clone()))
    .bind(col(|r| r.actor_user.clone()))
    .bind(col(|r| r.actor_role.clone()))
    .bind(col(|r| r.actor_jurisdiction.clone()))
    .bind(rows.iter().map(|r| r.correlation_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.causation_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.occurred_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.prev_hash.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.hash.clone()).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Moves each touched stream's head. A stream created concurrently in another ledger makes
/// the update match nothing; that is reported as an error so the batch is retried request by
/// request, where the stream's true home is then visible.
async fn upsert_streams(
    conn: &mut PgConnection,
    ledger: &str,
    touched: &[String],
    streams: &HashMap<String, (String, i64, String)>,
    rows: &[RecordedEvent],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut versions = Vec::with_capacity(touched.len());
    let mut types = Vec::with_capacity(touched.len());
    let mut last_seqs = Vec::with_capacity(touched.len());
    for id in touched {
        let (_, version, stream_type) = &streams[id];
        versions.push(*version);
        types.push(stream_type.clone());
        let last = rows
            .iter()
            .rev()
            .find(|r| &r.stream_id == id)
            .map(|r| r.seq)
            .unwrap_or(0);
        last_seqs.push(last);
    }
    let moved = sqlx::query(
        "insert into es.stream as s (stream_id, ledger, stream_type, version, last_seq, created_at, updated_at)
         select u.stream_id, $1, u.stream_type, u.version, u.last_seq, $2, $2
           from unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[])
             as u(stream_id, stream_type, version, last_seq)
         on conflict (stream_id) do update
            set version = excluded.version, last_seq = excluded.last_seq, updated_at = excluded.updated_at
          where s.ledger = excluded.ledger",
    )
    .bind(ledger)
    .bind(at)
    .bind(touched)
    .bind(&types)
    .bind(&versions)
    .bind(&last_seqs)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if moved != touched.len() as u64 {
        return Err(sqlx::Error::Protocol(
            "a stream of this batch was created in another ledger concurrently".into(),
        ));
    }
    Ok(())
}

async fn insert_commands(
    conn: &mut PgConnection,
    ledger: &str,
    commands: &[(Uuid, Vec<u8>, Appended)],
) -> Result<(), sqlx::Error> {
    if commands.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into es.command (ledger, command_id, request_hash, stream_id, first_seq, last_seq,
                                 stream_version, recorded_at)
         select $1, u.* from unnest($2::uuid[], $3::bytea[], $4::text[], $5::bigint[], $6::bigint[],
                                    $7::bigint[], $8::timestamptz[])
                  as u(command_id, request_hash, stream_id, first_seq, last_seq, stream_version,
                       recorded_at)",
    )
    .bind(ledger)
    .bind(commands.iter().map(|c| c.0).collect::<Vec<_>>())
    .bind(commands.iter().map(|c| c.1.clone()).collect::<Vec<_>>())
    .bind(
        commands
            .iter()
            .map(|c| c.2.stream_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(commands.iter().map(|c| c.2.first_seq).collect::<Vec<_>>())
    .bind(commands.iter().map(|c| c.2.last_seq).collect::<Vec<_>>())
    .bind(
        commands
            .iter()
            .map(|c| c.2.stream_version)
            .collect::<Vec<_>>(),
    )
    .bind(commands.iter().map(|c| c.2.recorded_at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
