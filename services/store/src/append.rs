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
    AppendRequest, Appended, Claim, MAX_CLAIM_KEY_BYTES, MAX_EVENT_BYTES, MAX_EVENTS_PER_COMMAND,
    RecordedEvent,
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
    // Names are stored in text columns and copied into every read model: a character that
    // PostgreSQL's text refuses (U+0000) or that hides what a name says must never get in.
    let actor = &req.actor;
    for (field, name) in [
        ("streamId", req.stream_id.as_str()),
        ("streamType", req.stream_type.as_str()),
        ("actor.user", actor.user.as_str()),
        ("actor.role", actor.role.as_str()),
        ("actor.jurisdiction", actor.jurisdiction.as_str()),
    ]
    .into_iter()
    .chain(
        req.events
            .iter()
            .map(|e| ("eventType", e.event_type.as_str())),
    ) {
        if let Some(c) = crate::text::forbidden_char(name) {
            return Err(AppendError::Invalid {
                field,
                reason: format!("U+{:04X} may not appear in a name", u32::from(c)),
            });
        }
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
            let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
                return Err(AppendError::Invalid {
                    field,
                    reason: format!("event {index}: {field} is not valid JSON"),
                });
            };
            if let Some((path, c)) = crate::text::find_forbidden(&value) {
                return Err(AppendError::ForbiddenText {
                    index,
                    path: field_path(&value, &path),
                    code_point: u32::from(c),
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
    // After the events: a key derives from an event's fields, whose own error names the field.
    if let Some(reason) = req.claims.iter().find_map(|c| claim_key_problem(c.key())) {
        return Err(AppendError::Invalid {
            field: "claims",
            reason,
        });
    }
    Ok(())
}

/// Why `key` cannot be a claim key (`None`: it can): 1 to [`MAX_CLAIM_KEY_BYTES`] bytes, none
/// of the characters the log refuses in text.
pub fn claim_key_problem(key: &str) -> Option<String> {
    if key.is_empty() || key.len() > MAX_CLAIM_KEY_BYTES {
        return Some(format!("a claim key has 1 to {MAX_CLAIM_KEY_BYTES} bytes"));
    }
    crate::text::forbidden_char(key)
        .map(|c| format!("U+{:04X} may not appear in a claim key", u32::from(c)))
}

/// The path within an event's body, without the event's tag (`{"VisitRecorded": {...}}`).
fn field_path(value: &serde_json::Value, path: &str) -> String {
    match value.as_object() {
        Some(map) if map.len() == 1 => path
            .split_once('.')
            .map_or(path, |(_, rest)| rest)
            .to_owned(),
        _ => path.to_owned(),
    }
}

/// The head of a ledger as read under its lock, with the time this batch records.
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
    // The head-row lock serialises appenders to a ledger (across processes too). The same
    // statement makes the rest of the transaction plan per execution (see `load_known`).
    sqlx::query(
        "select set_config('plan_cache_mode', 'force_custom_plan', true)
           from es.ledger where ledger = $1 for no key update",
    )
    .bind(ledger)
    .execute(&mut *conn)
    .await?;
    // Everything read from here on is read after the lock was granted, so it includes every
    // append committed before ours (READ COMMITTED takes each statement's snapshot at its start).
    let Known {
        head,
        mut commands,
        events: stored_events,
        mut streams,
        mut claims,
    } = load_known(conn, ledger, reqs).await?;
    let Some(mut head) = head else {
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

    let mut results = Vec::with_capacity(reqs.len());
    let mut rows: Vec<RecordedEvent> = Vec::new();
    let mut batch_event_ids: HashSet<Uuid> = HashSet::new();
    let mut new_commands: Vec<(Uuid, Vec<u8>, Appended)> = Vec::new();
    let mut touched_streams: Vec<String> = Vec::new();
    let mut touched_claims: Vec<String> = Vec::new();

    for req in reqs {
        let fingerprint = request_fingerprint(req);
        // 1. Idempotency first: a retry whose first attempt committed gets its original answer,
        //    not a version conflict.
        if let Some(command_id) = req.command_id
            && let Some(known) = commands.get(&command_id)
        {
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
        if let Some(answer) = event_id_duplicate(req, &stored_events, &batch_event_ids, ledger) {
            results.push(answer);
            continue;
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
        // 4. Unique keys: one holder per key in the ledger.
        if let Some((key, holder)) = req.claims.iter().find_map(|c| match c {
            Claim::Take(key) => claims
                .get(key)
                .filter(|(holder, _)| *holder != req.stream_id)
                .map(|(holder, _)| (key.clone(), holder.clone())),
            Claim::Release(_) => None,
        }) {
            results.push(Err(AppendError::Claimed { key, holder }));
            continue;
        }
        // 5. Positions, time and the hash chain.
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
        for claim in &req.claims {
            let held_here = claims
                .get(claim.key())
                .is_some_and(|(holder, _)| *holder == req.stream_id);
            match claim {
                Claim::Take(key) if !held_here => {
                    claims.insert(key.clone(), (req.stream_id.clone(), first_seq));
                }
                Claim::Release(key) if held_here => {
                    claims.remove(key);
                }
                _ => continue,
            }
            if !touched_claims.contains(&claim.key().to_owned()) {
                touched_claims.push(claim.key().to_owned());
            }
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
    let writes = Writes {
        rows: &rows,
        touched: &touched_streams,
        streams: &streams,
        commands: &new_commands,
        claims: ClaimWrites::new(&touched_claims, &claims),
    };
    write_batch(conn, ledger, &head, &writes).await?;
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

/// What the database already holds about a batch: the ledger head (none for an unknown
/// ledger), its command ids, event ids and streams.
struct Known {
    head: Option<Head>,
    commands: HashMap<Uuid, KnownCommand>,
    events: HashMap<Uuid, StoredEvent>,
    /// stream id → (home ledger, version, type)
    streams: HashMap<String, (String, i64, String)>,
    /// claim key → (holding stream, seq it was taken at), for the keys the batch names
    claims: HashMap<String, (String, i64)>,
}

/// Reads the ledger head and looks up every command id, event id and stream of the batch, in
/// one round trip.
///
/// Each id is probed through a `LATERAL … LIMIT 1` subquery, i.e. one equality probe of a
/// unique index per id. The obvious `ledger = $1 and event_id = any($2)` is a trap: the planner
/// costs the array as one descent per element and prefers the `(ledger, recorded_at)` index
/// with the array as a filter — a scan of the whole ledger per batch. And a generic plan cached
/// while the ledger's partition was empty (all index paths cost the same on an empty table)
/// keeps such a choice until autovacuum analyses the partition: appends got slower with every
/// event stored. So the transaction plans each statement for the table sizes of now
/// (`plan_cache_mode = force_custom_plan`, ~0.1 ms per batch), and the probe shape is then a
/// one-row probe at every table size, analysed or not.
async fn load_known(
    conn: &mut PgConnection,
    ledger: &str,
    reqs: &[&AppendRequest],
) -> Result<Known, sqlx::Error> {
    let command_ids: Vec<Uuid> = reqs.iter().filter_map(|r| r.command_id).collect();
    let event_ids: Vec<Uuid> = reqs
        .iter()
        .flat_map(|r| r.events.iter().map(|e| e.event_id))
        .collect();
    let mut stream_ids: Vec<&str> = reqs.iter().map(|r| r.stream_id.as_str()).collect();
    stream_ids.sort_unstable();
    stream_ids.dedup();
    let mut claim_keys: Vec<&str> = reqs
        .iter()
        .flat_map(|r| r.claims.iter().map(Claim::key))
        .collect();
    claim_keys.sort_unstable();
    claim_keys.dedup();
    let rows = sqlx::query(
        "select 0 as kind, c.command_id as id, c.request_hash as hash, c.stream_id,
                null::text as home, null::text as stream_type, c.first_seq as seq,
                c.last_seq, c.stream_version as version, c.recorded_at
           from unnest($2::uuid[]) as k(id)
           cross join lateral (select * from es.command
                                where ledger = $1 and command_id = k.id limit 1) c
         union all
         select 1, e.event_id, null, e.stream_id, null, null, e.seq, null, e.stream_version,
                e.recorded_at
           from unnest($3::uuid[]) as k(id)
           cross join lateral (select event_id, stream_id, seq, stream_version, recorded_at
                                 from es.event where ledger = $1 and event_id = k.id limit 1) e
         union all
         select 2, null, null, s.stream_id, s.ledger, s.stream_type, null, null, s.version, null
           from unnest($4::text[]) as k(id)
           cross join lateral (select stream_id, ledger, stream_type, version
                                 from es.stream where stream_id = k.id limit 1) s
         union all
         select 4, null, null, c.stream_id, c.key, null, c.seq, null, null, null
           from unnest($5::text[]) as k(id)
           cross join lateral (select key, stream_id, seq
                                 from es.claim where ledger = $1 and key = k.id limit 1) c
         union all
         select 3, null, head_hash, null, county_code, null, last_seq, null, null,
                greatest(clock_timestamp(), coalesce(last_recorded_at, '-infinity'))
           from es.ledger where ledger = $1",
    )
    .bind(ledger)
    .bind(&command_ids)
    .bind(&event_ids)
    .bind(&stream_ids)
    .bind(&claim_keys)
    .fetch_all(&mut *conn)
    .await?;
    let ledger_id =
        crate::model::LedgerId::parse(ledger).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let mut known = Known {
        head: None,
        commands: HashMap::new(),
        events: HashMap::new(),
        streams: HashMap::new(),
        claims: HashMap::new(),
    };
    for r in rows {
        let kind: i32 = r.try_get("kind")?;
        if kind == 3 {
            known.head = Some(Head {
                last_seq: r.try_get("seq")?,
                head_hash: r.try_get("hash")?,
                county_code: r.try_get("home")?,
                recorded_at: r
                    .try_get::<DateTime<Utc>, _>("recorded_at")?
                    .trunc_subsecs(6),
            });
            continue;
        }
        let stream_id: String = r.try_get("stream_id")?;
        match kind {
            0 => {
                known.commands.insert(
                    r.try_get("id")?,
                    KnownCommand {
                        request_hash: r.try_get("hash")?,
                        stream_id: stream_id.clone(),
                        answer: Appended {
                            ledger: ledger_id.clone(),
                            stream_id,
                            first_seq: r.try_get("seq")?,
                            last_seq: r.try_get("last_seq")?,
                            stream_version: r.try_get("version")?,
                            recorded_at: r.try_get("recorded_at")?,
                            duplicate: true,
                        },
                    },
                );
            }
            1 => {
                known.events.insert(
                    r.try_get("id")?,
                    (
                        stream_id,
                        r.try_get("seq")?,
                        r.try_get("version")?,
                        r.try_get("recorded_at")?,
                    ),
                );
            }
            4 => {
                known
                    .claims
                    .insert(r.try_get("home")?, (stream_id, r.try_get("seq")?));
            }
            _ => {
                known.streams.insert(
                    stream_id,
                    (
                        r.try_get("home")?,
                        r.try_get("version")?,
                        r.try_get("stream_type")?,
                    ),
                );
            }
        }
    }
    Ok(known)
}

/// Writes a batch in one statement: the events, each touched stream's head, the command rows
/// and the ledger head, as data-modifying CTEs (one round trip instead of four; they touch
/// different tables, so no part needs to see another's rows).
///
/// A stream created concurrently in another ledger makes its upsert match nothing; that is
/// reported as an error so the batch is retried request by request, where the stream's true
/// home is then visible.
async fn write_batch(
    conn: &mut PgConnection,
    ledger: &str,
    head: &Head,
    writes: &Writes<'_>,
) -> Result<(), sqlx::Error> {
    let Writes {
        rows,
        touched,
        streams,
        commands,
        ref claims,
    } = *writes;
    let mut versions = Vec::with_capacity(touched.len());
    let mut types = Vec::with_capacity(touched.len());
    let mut last_seqs = Vec::with_capacity(touched.len());
    for id in touched {
        let (_, version, stream_type) = &streams[id];
        versions.push(*version);
        types.push(stream_type.as_str());
        let last = rows
            .iter()
            .rev()
            .find(|r| &r.stream_id == id)
            .map(|r| r.seq)
            .unwrap_or(0);
        last_seqs.push(last);
    }
    let text = |f: fn(&RecordedEvent) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let moved: i64 = sqlx::query_scalar(
        "with ev as (
           insert into es.event (ledger, seq, stream_id, stream_type, stream_version, event_id,
               command_id, event_type, schema_version, data, metadata, actor_user, actor_role,
               actor_jurisdiction, correlation_id, causation_id, occurred_at, recorded_at,
               county_code, prev_hash, hash)
           select $1, u.seq, u.stream_id, u.stream_type, u.stream_version, u.event_id,
                  u.command_id, u.event_type, u.schema_version, u.data::json, u.metadata::json,
                  u.actor_user, u.actor_role, u.actor_jurisdiction, u.correlation_id,
                  u.causation_id, u.occurred_at, $2, $3, u.prev_hash, u.hash
             from unnest($4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::uuid[],
                         $9::uuid[], $10::text[], $11::int[], $12::text[], $13::text[],
                         $14::text[], $15::text[], $16::text[], $17::uuid[], $18::uuid[],
                         $19::timestamptz[], $20::bytea[], $21::bytea[])
               as u(seq, stream_id, stream_type, stream_version, event_id, command_id,
                    event_type, schema_version, data, metadata, actor_user, actor_role,
                    actor_jurisdiction, correlation_id, causation_id, occurred_at, prev_hash,
                    hash)
         ), st as (
           insert into es.stream as s (stream_id, ledger, stream_type, version, last_seq,
                                       created_at, updated_at)
           select u.stream_id, $1, u.stream_type, u.version, u.last_seq, $2, $2
             from unnest($22::text[], $23::text[], $24::bigint[], $25::bigint[])
               as u(stream_id, stream_type, version, last_seq)
           on conflict (stream_id) do update
              set version = excluded.version, last_seq = excluded.last_seq,
                  updated_at = excluded.updated_at
            where s.ledger = excluded.ledger
           returning 1
         ), cm as (
           insert into es.command (ledger, command_id, request_hash, stream_id, first_seq,
                                   last_seq, stream_version, recorded_at)
           select $1, u.* from unnest($26::uuid[], $27::bytea[], $28::text[], $29::bigint[],
                                      $30::bigint[], $31::bigint[], $32::timestamptz[])
                    as u(command_id, request_hash, stream_id, first_seq, last_seq,
                         stream_version, recorded_at)
         ), hd as (
           update es.ledger set last_seq = $33, head_hash = $34, last_recorded_at = $2
            where ledger = $1
         ), ck as (
           insert into es.claim as c (ledger, key, stream_id, seq, claimed_at)
           select $1, u.key, u.stream_id, u.seq, $2
             from unnest($35::text[], $36::text[], $37::bigint[]) as u(key, stream_id, seq)
           on conflict (ledger, key) do update
              set stream_id = excluded.stream_id, seq = excluded.seq,
                  claimed_at = excluded.claimed_at
         ), rk as (
           delete from es.claim c using unnest($38::text[]) as u(key)
            where c.ledger = $1 and c.key = u.key
         )
         select count(*) from st",
    )
    .bind(ledger)
    .bind(head.recorded_at)
    .bind(&head.county_code)
    .bind(rows.iter().map(|r| r.seq).collect::<Vec<_>>())
    .bind(text(|r| &r.stream_id))
    .bind(text(|r| &r.stream_type))
    .bind(rows.iter().map(|r| r.stream_version).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.event_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.command_id).collect::<Vec<_>>())
    .bind(text(|r| &r.event_type))
    .bind(rows.iter().map(|r| r.schema_version).collect::<Vec<_>>())
    .bind(text(|r| &r.data))
    .bind(text(|r| &r.metadata))
    .bind(text(|r| &r.actor_user))
    .bind(text(|r| &r.actor_role))
    .bind(text(|r| &r.actor_jurisdiction))
    .bind(rows.iter().map(|r| r.correlation_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.causation_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.occurred_at).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.prev_hash.as_slice())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.hash.as_slice()).collect::<Vec<_>>())
    .bind(touched)
    .bind(&types)
    .bind(&versions)
    .bind(&last_seqs)
    .bind(commands.iter().map(|c| c.0).collect::<Vec<_>>())
    .bind(commands.iter().map(|c| c.1.as_slice()).collect::<Vec<_>>())
    .bind(
        commands
            .iter()
            .map(|c| c.2.stream_id.as_str())
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
    .bind(head.last_seq)
    .bind(&head.head_hash)
    .bind(&claims.taken)
    .bind(&claims.holders)
    .bind(&claims.seqs)
    .bind(&claims.released)
    .fetch_one(&mut *conn)
    .await?;
    if moved != touched.len() as i64 {
        return Err(sqlx::Error::Protocol(
            "a stream of this batch was created in another ledger concurrently".into(),
        ));
    }
    Ok(())
}

/// What a batch writes besides the head: the accepted events, each touched stream (its state
/// at the batch's end in `streams`), the command rows and the claims.
struct Writes<'a> {
    rows: &'a [RecordedEvent],
    touched: &'a [String],
    streams: &'a HashMap<String, (String, i64, String)>,
    commands: &'a [(Uuid, Vec<u8>, Appended)],
    claims: ClaimWrites<'a>,
}

/// The claim rows a batch writes: each key it touched, as it stands at the batch's end (taken
/// by a stream, or released).
struct ClaimWrites<'a> {
    taken: Vec<&'a str>,
    holders: Vec<&'a str>,
    seqs: Vec<i64>,
    released: Vec<&'a str>,
}

impl<'a> ClaimWrites<'a> {
    fn new(touched: &'a [String], claims: &'a HashMap<String, (String, i64)>) -> Self {
        let mut w = Self {
            taken: Vec::new(),
            holders: Vec::new(),
            seqs: Vec::new(),
            released: Vec::new(),
        };
        for key in touched {
            match claims.get(key) {
                Some((holder, seq)) => {
                    w.taken.push(key);
                    w.holders.push(holder);
                    w.seqs.push(*seq);
                }
                None => w.released.push(key),
            }
        }
        w
    }
}
