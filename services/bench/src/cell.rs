//! One benchmark cell: `clients` concurrent tasks appending for a fixed time, each to its own
//! streams, after a warm-up whose operations are not counted. An operation is counted (rate and
//! latency) only if it started after the warm-up and finished before the deadline.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use dixian_store::{AppendError, EventStore, ExpectedVersion};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::noise;
use crate::payload;
use crate::probe::Batches;
use crate::raw::{self, RawStream};
use crate::stats::{self, Latencies};

/// Streams each client rotates through: commands of one client never conflict with another's.
const STREAMS_PER_CLIENT: usize = 4;

/// How long a cell warms up and then measures.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub warmup: Duration,
    pub measure: Duration,
}

/// Who receives the appends.
pub enum Target<'a> {
    /// The event store (group commit on or off, as configured).
    Store(&'a EventStore),
    /// The raw-INSERT ceiling: a pool of its own, one connection per client.
    Raw(&'a sqlx::postgres::PgConnectOptions),
}

/// What a cell measured.
#[derive(Debug, Clone)]
pub struct CellResult {
    pub clients: usize,
    pub ops: u64,
    pub events: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Group-commit transactions and the commands they carried (zero when off).
    pub batches: (u64, u64),
    /// Peak RSS of this process during the cell, MiB (when asked for).
    pub peak_rss_mib: Option<f64>,
    /// CPU used by other processes during the measured window, in cores.
    pub foreign_cores: f64,
    /// Median fdatasync probe right after the cell.
    pub fsync: Duration,
    /// Which attempt this was (see `run`).
    pub attempts: u32,
    /// The latency samples behind p50 and p99 (for pooling cells).
    samples: Latencies,
}

impl CellResult {
    pub fn ops_per_s(&self) -> f64 {
        self.ops as f64 / self.seconds
    }

    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / self.seconds
    }

    /// Several runs of one cell as one: rates over the total time, percentiles over all
    /// samples, the worst noise of any of them.
    pub fn pooled(cells: Vec<CellResult>) -> Option<CellResult> {
        let mut cells = cells.into_iter();
        let mut all = cells.next()?;
        for c in cells {
            all.ops += c.ops;
            all.events += c.events;
            all.seconds += c.seconds;
            all.batches.0 += c.batches.0;
            all.batches.1 += c.batches.1;
            all.foreign_cores = all.foreign_cores.max(c.foreign_cores);
            all.fsync = all.fsync.max(c.fsync);
            all.attempts = all.attempts.max(c.attempts);
            all.samples.merge(c.samples);
        }
        (all.p50_ms, all.p99_ms) = all.samples.p50_p99();
        Some(all)
    }

    /// Whether neither foreign CPU nor a busy disk disturbed the cell.
    pub fn quiet(&self) -> bool {
        self.foreign_cores <= noise::LIMIT && self.fsync <= noise::FSYNC_LIMIT
    }

    /// How far over the limits the cell was (to keep the least disturbed attempt).
    fn disturbance(&self) -> f64 {
        (self.foreign_cores / noise::LIMIT)
            .max(self.fsync.as_secs_f64() / noise::FSYNC_LIMIT.as_secs_f64())
    }

    /// Mean commands per group-commit transaction, if any were recorded.
    pub fn mean_batch(&self) -> Option<f64> {
        (self.batches.0 > 0).then(|| self.batches.1 as f64 / self.batches.0 as f64)
    }
}

#[derive(Default)]
struct ClientOutcome {
    ops: u64,
    events: u64,
    latencies: Latencies,
    errors: u64,
    first_error: Option<String>,
}

impl ClientOutcome {
    fn done(&mut self, window: (Instant, Instant), began: Instant, events: usize) {
        let ended = Instant::now();
        if began >= window.0 && ended <= window.1 {
            self.ops += 1;
            self.events += events as u64;
            self.latencies.record(ended - began);
        }
    }

    fn failed(&mut self, e: impl std::fmt::Display) {
        self.errors += 1;
        self.first_error.get_or_insert_with(|| e.to_string());
    }
}

/// What every cell of a run shares.
pub struct Ctx<'a> {
    pub timing: Timing,
    pub probe: &'a Batches,
    /// The bench database (to tell our PostgreSQL processes from foreign ones).
    pub database: &'a str,
    /// Extra attempts for a cell disturbed by foreign CPU use.
    pub retries: u32,
    /// How long to wait for the machine to go quiet before each attempt.
    pub quiet_wait: Duration,
}

/// Runs a cell until an attempt is undisturbed by foreign CPU use (at most `1 + retries`
/// attempts) and returns the quietest attempt.
pub async fn run(
    ctx: &Ctx<'_>,
    target: Target<'_>,
    clients: usize,
    events: usize,
    track_rss: bool,
) -> Result<CellResult> {
    let mut best: Option<CellResult> = None;
    for attempt in 1..=1 + ctx.retries {
        noise::wait_for_quiet(ctx.database, ctx.quiet_wait).await;
        let mut cell = run_once(ctx, &target, clients, events, track_rss).await?;
        cell.attempts = attempt;
        let (foreign, fsync) = (cell.foreign_cores, cell.fsync);
        let quiet = cell.quiet();
        if best
            .as_ref()
            .is_none_or(|b| cell.disturbance() < b.disturbance())
        {
            best = Some(cell);
        }
        if quiet {
            break;
        }
        eprintln!(
            "    disturbed: other processes used {:.0} % of a core, fdatasync {} µs",
            100.0 * foreign,
            fsync.as_micros()
        );
    }
    Ok(best.expect("at least one attempt"))
}

/// One attempt. `track_rss` resets the peak-RSS mark first and reads it afterwards.
async fn run_once(
    ctx: &Ctx<'_>,
    target: &Target<'_>,
    clients: usize,
    events: usize,
    track_rss: bool,
) -> Result<CellResult> {
    let timing = ctx.timing;
    // Raw clients get their connections before the clock starts: connecting is not inserting.
    let mut raw_conns = Vec::new();
    let raw_pool: Option<PgPool> = match target {
        Target::Raw(options) => {
            let pool = PgPoolOptions::new()
                .max_connections(clients as u32)
                .connect_with((*options).clone())
                .await?;
            for _ in 0..clients {
                raw_conns.push(pool.acquire().await?);
            }
            Some(pool)
        }
        Target::Store(_) => None,
    };
    if track_rss {
        stats::reset_peak_rss();
    }
    let batches_before = ctx.probe.snapshot();
    let start = Instant::now() + timing.warmup;
    let window = (start, start + timing.measure);
    let watcher = {
        let database = ctx.database.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep_until(window.0.into()).await;
            let snapshot = noise::Snapshot::take(&database);
            tokio::time::sleep_until(window.1.into()).await;
            snapshot.foreign_since(&database)
        })
    };
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        tasks.push(match target {
            Target::Store(store) => tokio::spawn(store_client((*store).clone(), events, window)),
            Target::Raw(_) => {
                let conn = raw_conns.pop().expect("one connection per client");
                tokio::spawn(raw_client(conn, events, window))
            }
        });
    }
    let mut total = ClientOutcome::default();
    for t in tasks {
        let o = t.await?;
        total.ops += o.ops;
        total.events += o.events;
        total.errors += o.errors;
        total.latencies.merge(o.latencies);
        if total.first_error.is_none() {
            total.first_error = o.first_error;
        }
    }
    let peak_rss_mib = track_rss.then(|| stats::rss_mib().1);
    let batches_after = ctx.probe.snapshot();
    let foreign_cores = watcher.await?;
    let fsync = noise::fsync_probe().await;
    if let Some(pool) = raw_pool {
        pool.close().await;
    }
    if total.errors > 0 {
        bail!(
            "{} of the appends failed; first: {}",
            total.errors,
            total.first_error.unwrap_or_default()
        );
    }
    let mut samples = total.latencies;
    let (p50_ms, p99_ms) = samples.p50_p99();
    Ok(CellResult {
        clients,
        ops: total.ops,
        events: total.events,
        seconds: timing.measure.as_secs_f64(),
        p50_ms,
        p99_ms,
        batches: (
            batches_after.0 - batches_before.0,
            batches_after.1 - batches_before.1,
        ),
        peak_rss_mib,
        foreign_cores,
        fsync,
        attempts: 1,
        samples,
    })
}

/// A client of the store: each command appends to one of its own streams with the exact
/// version it last saw, like a real command that read its stream first.
async fn store_client(
    store: EventStore,
    events: usize,
    window: (Instant, Instant),
) -> ClientOutcome {
    let mut out = ClientOutcome::default();
    let mut streams: Vec<(String, i64)> = (0..STREAMS_PER_CLIENT)
        .map(|_| (payload::new_stream(), 0))
        .collect();
    let mut n = 0;
    for i in 0.. {
        if Instant::now() >= window.1 {
            break;
        }
        let (stream, version) = &mut streams[i % STREAMS_PER_CLIENT];
        let req = payload::request(stream, ExpectedVersion::Exact(*version), events, &mut n);
        let began = Instant::now();
        match store.append(req).await {
            Ok(a) => {
                *version = a.stream_version;
                out.done(window, began, events);
            }
            Err(AppendError::Conflict { actual, .. }) => {
                *version = actual;
                out.failed("unexpected version conflict on a client's own stream");
            }
            Err(e) => out.failed(e),
        }
    }
    out
}

async fn raw_client(
    mut conn: sqlx::pool::PoolConnection<sqlx::Postgres>,
    events: usize,
    window: (Instant, Instant),
) -> ClientOutcome {
    let mut out = ClientOutcome::default();
    let mut streams: Vec<RawStream> = (0..STREAMS_PER_CLIENT)
        .map(|_| RawStream {
            id: payload::new_stream(),
            version: 0,
        })
        .collect();
    let mut n = 0;
    for i in 0.. {
        if Instant::now() >= window.1 {
            break;
        }
        let stream = &mut streams[i % STREAMS_PER_CLIENT];
        let began = Instant::now();
        match raw::insert(&mut conn, stream, events, &mut n).await {
            Ok(()) => out.done(window, began, events),
            Err(e) => out.failed(e),
        }
    }
    out
}

/// A table note on how quiet the machine was during the given cells (label, cell).
pub fn quiet_note<'c>(cells: impl IntoIterator<Item = (String, &'c CellResult)>) -> String {
    let (mut max_cpu, mut max_fsync) = (0.0_f64, Duration::ZERO);
    let mut disturbed = Vec::new();
    let mut retried = 0;
    for (label, c) in cells {
        max_cpu = max_cpu.max(c.foreign_cores);
        max_fsync = max_fsync.max(c.fsync);
        if c.attempts > 1 {
            retried += 1;
        }
        if !c.quiet() {
            disturbed.push(format!(
                "{label} ({:.0} %, {} µs)",
                100.0 * c.foreign_cores,
                c.fsync.as_micros()
            ));
        }
    }
    let mut note = format!(
        "Machine noise: other processes used at most {:.0} % of a core during a measured \
         window; the fdatasync probe after a cell took at most {} µs",
        100.0 * max_cpu,
        max_fsync.as_micros()
    );
    if retried > 0 {
        note.push_str(&format!(
            "; {retried} cell(s) were re-run after a disturbed attempt"
        ));
    }
    if disturbed.is_empty() {
        note.push('.');
    } else {
        note.push_str(&format!(
            "; still disturbed (> {:.0} % CPU or > {} µs) after retries: {}.",
            100.0 * noise::LIMIT,
            noise::FSYNC_LIMIT.as_micros(),
            disturbed.join(", ")
        ));
    }
    note
}
