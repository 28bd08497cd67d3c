//! Section 5: does appending slow down as the log grows? The same group-commit cells (1 and
//! 16 clients, one event per command) on an empty log and again with N events stored.

use anyhow::Result;

use crate::cell::{self, CellResult, Ctx, Target};
use crate::report::{Row, Table, Verdict, ms, rate, ratio};
use crate::setup::BenchDb;

/// Latency may grow at most this much from the empty log to N events (issue 5).
pub const TARGET: f64 = 1.2;

/// The client counts measured.
pub const CLIENTS: [usize; 2] = [1, 16];

/// One measurement: the log size it ran at and its cells.
pub struct Point {
    pub stored: i64,
    pub cells: Vec<CellResult>,
}

pub async fn measure(db: &BenchDb, ctx: &Ctx<'_>) -> Result<Point> {
    let stored = db.ledger_len().await?;
    let store = db.group_commit_store();
    let mut cells = Vec::new();
    for c in CLIENTS {
        eprintln!("  growth: {c} clients with {stored} events stored");
        db.checkpoint().await?;
        cells.push(cell::run(ctx, Target::Store(&store), c, 1, false).await?);
    }
    store.shutdown(std::time::Duration::from_secs(10)).await;
    Ok(Point { stored, cells })
}

pub fn table(empty: &Point, full: &Point) -> Table {
    let mut t = Table::new(format!(
        "5. Size growth: group-commit append latency, {} vs {} events stored",
        rate(empty.stored as f64),
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
            ..row(format!("{} events stored", rate(empty.stored as f64)), e)
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
        .push("Dossier latency with 10M events: pending the GraphQL dossier (issue 4).".into());
    t
}
