//! The raw-INSERT ceiling: the same rows into a plain table of the same shape (same columns,
//! types, keys and index as `es.event`, but not partitioned), with none of the store's work —
//! no head lock, no idempotency or version checks, no hash chain, no stream or command rows.
//! Each client holds its own connection and sends one autocommit INSERT per command, as
//! pgbench's scenario "a" does.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::payload;
use crate::setup::LEDGER;

/// The table, its sequence (seq comes from a sequence here: no head row) and its indexes.
pub const DDL: &[&str] = &[
    "create sequence if not exists bench_raw_seq",
    "create table if not exists bench_raw (
       ledger              text        not null,
       seq                 bigint      not null default nextval('bench_raw_seq'),
       stream_id           text        not null,
       stream_type         text        not null,
       stream_version      bigint      not null,
       event_id            uuid        not null,
       command_id          uuid,
       event_type          text        not null,
       schema_version      integer     not null,
       data                json        not null,
       metadata            json        not null,
       actor_user          text        not null,
       actor_role          text        not null,
       actor_jurisdiction  text        not null,
       correlation_id      uuid,
       causation_id        uuid,
       occurred_at         timestamptz not null,
       recorded_at         timestamptz not null default clock_timestamp(),
       county_code         text        not null,
       prev_hash           bytea       not null,
       hash                bytea       not null,
       primary key (ledger, seq),
       unique (ledger, event_id),
       unique (ledger, stream_id, stream_version)
     )",
    "create index if not exists bench_raw_recorded_at on bench_raw (ledger, recorded_at)",
];

const INSERT_ONE: &str = "insert into bench_raw (ledger, stream_id, stream_type, stream_version,
       event_id, command_id, event_type, schema_version, data, metadata, actor_user, actor_role,
       actor_jurisdiction, correlation_id, causation_id, occurred_at, county_code, prev_hash, hash)
     values ($1, $2, 'household', $3, $4, $5, $6, 1, $7::json, $8::json, $9, $10, $11, $12, null,
             $13, $1, $14, $14)";

const INSERT_MANY: &str = "insert into bench_raw (ledger, stream_id, stream_type, stream_version,
       event_id, command_id, event_type, schema_version, data, metadata, actor_user, actor_role,
       actor_jurisdiction, correlation_id, causation_id, occurred_at, county_code, prev_hash, hash)
     select $1, $2, 'household', u.v, u.id, $3, $4, 1, u.data::json, u.meta::json, $5, $6, $7, $8,
            null, $9, $1, $10, $10
       from unnest($11::bigint[], $12::uuid[], $13::text[], $14::text[]) as u(v, id, data, meta)";

/// A 32-byte placeholder for the hash columns (the ceiling computes no chain).
const ZERO_HASH: [u8; 32] = [0; 32];

/// One raw client's stream: the version is tracked client-side, as a service would.
pub struct RawStream {
    pub id: String,
    pub version: i64,
}

/// Inserts one command's `events` rows in one autocommit statement.
pub async fn insert(
    conn: &mut PgConnection,
    stream: &mut RawStream,
    events: usize,
    n: &mut u64,
) -> Result<(), sqlx::Error> {
    let actor = payload::actor();
    let now: DateTime<Utc> = Utc::now();
    let command_id = Uuid::now_v7();
    let correlation_id = Uuid::now_v7();
    if events == 1 {
        *n += 1;
        sqlx::query(INSERT_ONE)
            .bind(LEDGER)
            .bind(&stream.id)
            .bind(stream.version + 1)
            .bind(Uuid::now_v7())
            .bind(command_id)
            .bind(payload::EVENT_TYPE)
            .bind(payload::data(&stream.id, *n))
            .bind(payload::metadata(*n))
            .bind(&actor.user)
            .bind(&actor.role)
            .bind(&actor.jurisdiction)
            .bind(correlation_id)
            .bind(now)
            .bind(&ZERO_HASH[..])
            .execute(&mut *conn)
            .await?;
    } else {
        let versions: Vec<i64> = (1..=events as i64).map(|i| stream.version + i).collect();
        let ids: Vec<Uuid> = (0..events).map(|_| Uuid::now_v7()).collect();
        let mut data = Vec::with_capacity(events);
        let mut meta = Vec::with_capacity(events);
        for _ in 0..events {
            *n += 1;
            data.push(payload::data(&stream.id, *n));
            meta.push(payload::metadata(*n));
        }
        sqlx::query(INSERT_MANY)
            .bind(LEDGER)
            .bind(&stream.id)
            .bind(command_id)
            .bind(payload::EVENT_TYPE)
            .bind(&actor.user)
            .bind(&actor.role)
            .bind(&actor.jurisdiction)
            .bind(correlation_id)
            .bind(now)
            .bind(&ZERO_HASH[..])
            .bind(&versions)
            .bind(&ids)
            .bind(&data)
            .bind(&meta)
            .execute(&mut *conn)
            .await?;
    }
    stream.version += events as i64;
    Ok(())
}
