//! Section 3: projection rebuild rate against the read ceiling, a client reading the same rows
//! with `COPY (select … order by seq) TO STDOUT` — the fastest way PostgreSQL hands rows to a
//! client, with no per-row protocol messages and no decoding on the client side.

use std::time::Instant;

use anyhow::{Result, ensure};
use dixian_projections::rebuild::replay_into;
use dixian_projections::stream_index::StreamIndex;
use futures_util::StreamExt;

use crate::noise;
use crate::report::{Row, Table, Verdict, rate, ratio};
use crate::setup::{BenchDb, LEDGER};

/// Rebuild must reach this share of the COPY rate (issue 5).
pub const TARGET: f64 = 0.25;

/// The projection schema the bench replays into (never the live one).
const SCHEMA: &str = "stream_index__bench";

/// Every stored column in the order of `dixian_store::read`, JSON bodies as text.
const COLUMNS: &str = "ledger, seq, stream_id, stream_type, stream_version, event_id, command_id, \
     event_type, schema_version, data::text, metadata::text, actor_user, actor_role, \
     actor_jurisdiction, correlation_id, causation_id, occurred_at, recorded_at, county_code, \
     prev_hash, hash";

pub struct Rates {
    pub events: i64,
    pub copy_s: f64,
    pub copy_bytes: u64,
    pub rebuild_s: f64,
    pub streams: i64,
    /// Foreign CPU (cores) during the COPYs and during the rebuild.
    pub foreign: (f64, f64),
}

/// Reads the whole ledger with COPY; returns (rows, bytes, seconds).
async fn copy_out(db: &BenchDb) -> Result<(i64, u64, f64)> {
    let mut conn = db.service.acquire().await?;
    let sql = format!(
        "copy (select {COLUMNS} from es.event where ledger = '{LEDGER}' order by seq) to stdout"
    );
    let started = Instant::now();
    let mut stream = conn.copy_out_raw(&sql).await?;
    let (mut rows, mut bytes) = (0_i64, 0_u64);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        bytes += chunk.len() as u64;
        // Text COPY escapes newlines inside values, so each real newline ends a row.
        rows += chunk.iter().filter(|&&b| b == b'\n').count() as i64;
    }
    Ok((rows, bytes, started.elapsed().as_secs_f64()))
}

/// COPY before and after the rebuild (the mean is the ceiling), the rebuild in between.
pub async fn measure(db: &BenchDb) -> Result<Rates> {
    let events = db.ledger_len().await?;
    eprintln!("  rebuild: COPY, replay of stream_index, COPY over {events} events");
    let quiet = noise::Snapshot::take(&db.name);
    let (rows, bytes, first) = copy_out(db).await?;
    let copy_foreign = quiet.foreign_since(&db.name);
    ensure!(
        rows == events,
        "COPY returned {rows} rows, the ledger has {events}"
    );
    let quiet = noise::Snapshot::take(&db.name);
    let started = Instant::now();
    let (_, replayed) = replay_into(&db.service, &StreamIndex, SCHEMA).await?;
    let rebuild_s = started.elapsed().as_secs_f64();
    let rebuild_foreign = quiet.foreign_since(&db.name);
    ensure!(replayed == events, "replayed {replayed} of {events} events");
    let quiet = noise::Snapshot::take(&db.name);
    let (_, _, second) = copy_out(db).await?;
    let copy_foreign = copy_foreign.max(quiet.foreign_since(&db.name));
    let counted: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select coalesce(sum(n), 0)::bigint from {SCHEMA}.event_type_count"
    )))
    .fetch_one(&db.admin)
    .await?;
    ensure!(
        counted == events,
        "the rebuilt projection counted {counted} events of {events}"
    );
    let streams: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select count(*) from {SCHEMA}.stream_summary"
    )))
    .fetch_one(&db.admin)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("drop schema {SCHEMA} cascade")))
        .execute(&db.admin)
        .await?;
    Ok(Rates {
        events,
        copy_s: (first + second) / 2.0,
        copy_bytes: bytes,
        rebuild_s,
        streams,
        foreign: (copy_foreign, rebuild_foreign),
    })
}

pub fn table(r: &Rates) -> Table {
    let mut t = Table::new(format!(
        "3. Projection rebuild over a {}-event ledger",
        rate(r.events as f64)
    ));
    let copy_rate = r.events as f64 / r.copy_s;
    let rebuild_rate = r.events as f64 / r.rebuild_s;
    t.rows.push(Row {
        scenario: "COPY (select all columns … order by seq) TO STDOUT, client reads".into(),
        clients: "1".into(),
        events: rate(copy_rate),
        baseline: "(ceiling)".into(),
        ..Row::default()
    });
    let share = rebuild_rate / copy_rate;
    t.rows.push(Row {
        scenario: "**rebuild stream_index (replay_into)**".into(),
        clients: "1".into(),
        events: rate(rebuild_rate),
        baseline: format!("COPY {}/s", rate(copy_rate)),
        ratio: ratio(share),
        target: format!("≥ {TARGET}×"),
        verdict: Some(Verdict::of(share >= TARGET)),
        ..Row::default()
    });
    t.notes.push(format!(
        "COPY moved {:.0} MiB ({:.0} B per row) in {:.2} s (mean of a run before and after the \
         rebuild); the rebuild took {:.2} s and produced {} stream summaries. Other processes \
         used at most {:.0} % of a core during the COPYs, {:.0} % during the rebuild.",
        r.copy_bytes as f64 / 1048576.0,
        r.copy_bytes as f64 / r.events as f64,
        r.copy_s,
        r.rebuild_s,
        rate(r.streams as f64),
        100.0 * r.foreign.0,
        100.0 * r.foreign.1
    ));
    t
}
