//! Rebuild: replay a projection from seq 0 into fresh tables, then switch over atomically.
//!
//! The fresh copy is filled in `<name>__rebuild` while the live projection keeps serving and
//! following the log. The switch happens in one transaction that first locks the projection's
//! checkpoint rows (pausing the live runner), applies the last events that arrived meanwhile,
//! swaps the schemas by renaming, and sets the checkpoints to where the copy got. Readers see
//! either the old tables or the new ones, never a mix.

use std::collections::BTreeMap;

use dixian_store::read;
use sqlx::{PgConnection, PgPool};

use crate::{Projection, ProjectionError, ensure_schema, set_search_path};

const REPLAY_BATCH: i64 = 5000;

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    pub projection: String,
    pub events: i64,
    pub positions: BTreeMap<String, i64>,
}

/// Fills `schema` (created fresh) from seq 0 of every ledger, up to the heads at the time.
pub async fn replay_into(
    pool: &PgPool,
    projection: &dyn Projection,
    schema: &str,
) -> Result<(BTreeMap<String, i64>, i64), ProjectionError> {
    let mut conn = pool.acquire().await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop schema if exists {schema} cascade"
    )))
    .execute(&mut *conn)
    .await?;
    ensure_schema(&mut conn, projection, schema).await?;
    let ledgers: Vec<String> = sqlx::query_scalar("select ledger from es.ledger order by ledger")
        .fetch_all(&mut *conn)
        .await?;
    let mut positions = BTreeMap::new();
    let mut total = 0;
    for ledger in ledgers {
        let mut at = 0;
        loop {
            let n = replay_batch(
                &mut conn,
                projection,
                schema,
                &ledger,
                &mut at,
                REPLAY_BATCH,
            )
            .await?;
            total += n;
            if n < REPLAY_BATCH {
                break;
            }
        }
        positions.insert(ledger, at);
    }
    Ok((positions, total))
}

async fn replay_batch(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    ledger: &str,
    at: &mut i64,
    limit: i64,
) -> Result<i64, ProjectionError> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let events = read::read_ledger(&mut tx, ledger, *at, limit)
        .await
        .map_err(|e| ProjectionError::Database(sqlx::Error::Protocol(e.to_string())))?;
    set_search_path(&mut tx, schema).await?;
    projection.apply_batch(&mut tx, &events).await?;
    if let Some(last) = events.last() {
        *at = last.seq;
    }
    tx.commit().await?;
    Ok(events.len() as i64)
}

/// Rebuilds a projection and switches the live tables over to the rebuilt ones.
pub async fn rebuild(
    pool: &PgPool,
    projection: &dyn Projection,
) -> Result<RebuildReport, ProjectionError> {
    let name = projection.name();
    let fresh = format!("{name}__rebuild");
    let (mut positions, mut events) = replay_into(pool, projection, &fresh).await?;

    let mut tx = pool.begin().await?;
    let ledgers: Vec<String> = sqlx::query_scalar("select ledger from es.ledger order by ledger")
        .fetch_all(&mut *tx)
        .await?;
    for ledger in &ledgers {
        sqlx::query("insert into es.checkpoint (projection, ledger, seq) values ($1, $2, 0) on conflict do nothing")
            .bind(name)
            .bind(ledger)
            .execute(&mut *tx)
            .await?;
        // Waits for a live step in progress, then holds the runner off until the switch.
        sqlx::query(
            "select seq from es.checkpoint where projection = $1 and ledger = $2 for update",
        )
        .bind(name)
        .bind(ledger)
        .execute(&mut *tx)
        .await?;
        let at = positions.entry(ledger.clone()).or_insert(0);
        loop {
            let n = replay_batch_in(&mut tx, projection, &fresh, ledger, at).await?;
            events += n;
            if n < REPLAY_BATCH {
                break;
            }
        }
    }
    let old = format!("{name}__old");
    for sql in [
        format!("drop schema if exists {old} cascade"),
        format!("create schema if not exists {name}"),
        format!("alter schema {name} rename to {old}"),
        format!("alter schema {fresh} rename to {name}"),
        format!("drop schema {old} cascade"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }
    for (ledger, seq) in &positions {
        sqlx::query("update es.checkpoint set seq = $3, updated_at = clock_timestamp() where projection = $1 and ledger = $2")
            .bind(name)
            .bind(ledger)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(RebuildReport {
        projection: name.to_owned(),
        events,
        positions,
    })
}

/// Like `replay_batch`, inside the switch transaction (no commit of its own).
async fn replay_batch_in(
    tx: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    ledger: &str,
    at: &mut i64,
) -> Result<i64, ProjectionError> {
    let events = read::read_ledger(tx, ledger, *at, REPLAY_BATCH)
        .await
        .map_err(|e| ProjectionError::Database(sqlx::Error::Protocol(e.to_string())))?;
    set_search_path(tx, schema).await?;
    projection.apply_batch(tx, &events).await?;
    if let Some(last) = events.last() {
        *at = last.seq;
    }
    Ok(events.len() as i64)
}
