//! Section 5: does appending slow down as the log grows? The same group-commit cells (1 and
//! 16 clients, one event per command) on an empty log and on the log with N events stored.
//!
//! The two are measured side by side, not minutes apart: a second, fresh database holds the
//! empty log, and the cells alternate between it and the full one for a few rounds, samples
//! pooled per side. On a shared VM, latency drifts by ±30 % over the minutes a large load
//! takes; alternating cancels the drift, so the ratio shows the size of the log, not the hour.

use anyhow::Result;

use crate::cell::{self, CellResult, Ctx, Target};
use crate::report::{Row, Table, Verdict, ms, rate, ratio};
use crate::setup::BenchDb;

/// Latency may grow at most this much from the empty log to N events (issue 5).
pub const TARGET: f64 = 1.2;

/// The client counts measured.
pub const CLIENTS: [usize; 2] = [1, 16];

/// One side of the comparison: the log size and a pooled cell per client count.
pub struct Point {
    pub stored: i64,
    pub cells: Vec<CellResult>,
}

/// Where the empty side lives.
pub struct EmptyLog<'a> {
    pub url: &'a str,
    pub connections: u32,
}

/// Measures both sides, alternating for `rounds` rounds.
pub async fn measure(
    full: &BenchDb,
    empty_log: EmptyLog<'_>,
    ctx: &Ctx<'_>,
    rounds: usize,
) -> Result<(Point, Point)> {
    let empty = BenchDb::create(empty_log.url, "_empty", empty_log.connections, None).await?;
    let result = alternate(full, &empty, ctx, rounds).await;
    empty.finish(false).await?;
    result
}

async fn alternate(
    full: &BenchDb,
    empty: &BenchDb,
    ctx: &Ctx<'_>,
    rounds: usize,
) -> Result<(Point, Point)> {
    // Both sides start settled: vacuumed, analysed, checkpointed.
    full.vacuum().await?;
    empty.vacuum().await?;
    let empty_ctx = Ctx {
        database: &empty.name,
        ..*ctx
    };
    let (full_store, empty_store) = (full.group_commit_store(), empty.group_commit_store());
    let mut empty_cells: Vec<Vec<CellResult>> = vec![Vec::new(); CLIENTS.len()];
    let mut full_cells: Vec<Vec<CellResult>> = vec![Vec::new(); CLIENTS.len()];
    let (empty_stored, full_stored) = (empty.ledger_len().await?, full.ledger_len().await?);
    for round in 1..=rounds {
        for (i, c) in CLIENTS.into_iter().enumerate() {
            eprintln!("  growth round {round}/{rounds}: {c} clients, empty log then full log");
            empty.checkpoint().await?;
            empty_cells[i]
                .push(cell::run(&empty_ctx, Target::Store(&empty_store), c, 1, false).await?);
            full.checkpoint().await?;
            full_cells[i].push(cell::run(ctx, Target::Store(&full_store), c, 1, false).await?);
        }
    }
    for store in [&full_store, &empty_store] {
        store.shutdown(std::time::Duration::from_secs(10)).await;
    }
    let pool = |cells: Vec<Vec<CellResult>>| -> Vec<CellResult> {
        cells.into_iter().filter_map(CellResult::pooled).collect()
    };
    Ok((
        Point {
            stored: empty_stored,
            cells: pool(empty_cells),
        },
        Point {
            stored: full_stored,
            cells: pool(full_cells),
        },
    ))
}

pub fn table(empty: &Point, full: &Point, rounds: usize) -> Table {
    let mut t = Table::new(format!(
        "5. Size growth: group-commit append latency, empty log vs {} events stored",
        rate(full.stored as f64)
    ));
    for (e, f) in empty.cells.iter().zip(&full.cells) {
        let row = |scenario: String, c: &CellResult| Row {
            scenario,
            clients: c.clients.to_string(),
            ops: rate(c.ops_per_s()),
            events: rate(c.events_per_s()),
            p50: ms(c.p50_ms),
            p99: ms(c.p99_ms),
            ..Row::default()
        };
        t.rows.push(Row {
            baseline: "(baseline)".into(),
            ..row("empty log (fresh database)".into(), e)
        });
        let r50 = f.p50_ms / e.p50_ms;
        let r99 = f.p99_ms / e.p99_ms;
        t.rows.push(Row {
            baseline: format!("p50 {} · p99 {} ms", ms(e.p50_ms), ms(e.p99_ms)),
            ratio: format!("{} · {}", ratio(r50), ratio(r99)),
            target: format!("≤ {TARGET}× · ≤ {TARGET}×"),
            verdict: Some(Verdict::of(r50 <= TARGET && r99 <= TARGET)),
            ..row(format!("**{} events stored**", rate(full.stored as f64)), f)
        });
    }
    t.notes.push(format!(
        "{rounds} alternating round(s) per client count, samples pooled per side (empty log in a \
         second, fresh database of the same server)."
    ));
    t.notes.push(cell::quiet_note(
        empty
            .cells
            .iter()
            .map(|c| (format!("empty@{}", c.clients), c))
            .chain(
                full.cells
                    .iter()
                    .map(|c| (format!("full@{}", c.clients), c)),
            ),
    ));
    t.notes
        .push("Dossier latency as the log grows: measured by `dixian-bench-dossier` (docs/benchmarks.md).".into());
    t
}
