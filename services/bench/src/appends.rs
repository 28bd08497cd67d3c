//! Sections 1 and 2 (append throughput and latency) and 6 (peak memory): for each client
//! count, the raw-INSERT ceiling, the store with group commit off, and the store with group
//! commit on, each in a cell of its own after a CHECKPOINT.

use anyhow::{Context, Result};

use crate::cell::{self, CellResult, Ctx, Target};
use crate::raw;
use crate::report::{Row, Table, Verdict, ms, rate, ratio};
use crate::setup::BenchDb;

/// Targets at the largest client count (2-core machine, issue 5).
pub const TARGET_VS_RAW: f64 = 0.5;
pub const TARGET_VS_OFF: f64 = 10.0;
/// The client count the targets apply to.
pub const TARGET_CLIENTS: usize = 64;

/// Creates the raw-INSERT table (once per database).
pub async fn prepare(db: &BenchDb) -> Result<()> {
    for ddl in raw::DDL {
        sqlx::query(*ddl).execute(&db.admin).await?;
    }
    Ok(())
}

/// The three ways of appending that a section compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Variant {
    /// The raw-INSERT ceiling.
    Raw,
    /// The store with group commit off (`EventStore::new`).
    Off,
    /// The store with group commit (`EventStore::with_group_commit`).
    On,
}

/// The variants of one client count (those that were run).
pub struct Triple {
    pub clients: usize,
    pub raw: Option<CellResult>,
    pub off: Option<CellResult>,
    pub on: Option<CellResult>,
}

/// Runs one section (`events` per command) over every client count.
pub async fn section(
    db: &BenchDb,
    ctx: &Ctx<'_>,
    events: usize,
    clients: &[usize],
    variants: &[Variant],
) -> Result<Vec<Triple>> {
    let direct = db.direct_store();
    let grouped = db.group_commit_store();
    let mut out = Vec::new();
    for &c in clients {
        eprintln!("  {events}-event commands, {c} clients: {variants:?}");
        let mut triple = Triple {
            clients: c,
            raw: None,
            off: None,
            on: None,
        };
        for &v in variants {
            db.checkpoint().await?;
            let (target, slot, what) = match v {
                Variant::Raw => (Target::Raw(&db.options), &mut triple.raw, "raw INSERT"),
                Variant::Off => (Target::Store(&direct), &mut triple.off, "group commit off"),
                Variant::On => (Target::Store(&grouped), &mut triple.on, "group commit"),
            };
            let track_rss = v == Variant::On && c == TARGET_CLIENTS;
            let cell = cell::run(ctx, target, c, events, track_rss)
                .await
                .with_context(|| format!("{what} cell, {c} clients"))?;
            *slot = Some(cell);
        }
        out.push(triple);
    }
    grouped.shutdown(std::time::Duration::from_secs(10)).await;
    Ok(out)
}

fn measured(scenario: &str, c: &CellResult) -> Row {
    Row {
        scenario: scenario.into(),
        clients: c.clients.to_string(),
        ops: rate(c.ops_per_s()),
        events: rate(c.events_per_s()),
        p50: ms(c.p50_ms),
        p99: ms(c.p99_ms),
        ..Row::default()
    }
}

/// The section's table: per client count, the ceiling, then off and on against it.
pub fn table(title: &str, triples: &[Triple]) -> Table {
    let mut t = Table::new(title);
    let mut batches = Vec::new();
    for tr in triples {
        let raw_rate = tr.raw.as_ref().map(CellResult::events_per_s);
        let off_rate = tr.off.as_ref().map(CellResult::events_per_s);
        if let Some(raw) = &tr.raw {
            t.rows.push(Row {
                baseline: "(ceiling)".into(),
                ..measured("raw INSERT, same row shape", raw)
            });
        }
        if let Some(off) = &tr.off {
            t.rows.push(Row {
                baseline: raw_rate.map_or_else(String::new, |r| format!("raw {}/s", rate(r))),
                ratio: raw_rate.map_or_else(String::new, |r| ratio(off.events_per_s() / r)),
                ..measured("Dixian, group commit off", off)
            });
        }
        let Some(on) = &tr.on else { continue };
        let vs_raw = raw_rate.map(|r| on.events_per_s() / r);
        let vs_off = off_rate.map(|r| on.events_per_s() / r);
        let show = |x: Option<f64>| x.map_or_else(|| "–".to_owned(), ratio);
        let judged = tr.clients == TARGET_CLIENTS && vs_raw.is_some() && vs_off.is_some();
        t.rows.push(Row {
            baseline: format!(
                "raw {}/s · off {}/s",
                raw_rate.map_or_else(|| "–".to_owned(), rate),
                off_rate.map_or_else(|| "–".to_owned(), rate),
            ),
            ratio: format!("{} · {}", show(vs_raw), show(vs_off)),
            target: if judged {
                format!("≥ {TARGET_VS_RAW}× · ≥ {TARGET_VS_OFF}×")
            } else {
                String::new()
            },
            verdict: judged.then(|| {
                Verdict::of(
                    vs_raw.unwrap_or(0.0) >= TARGET_VS_RAW
                        && vs_off.unwrap_or(0.0) >= TARGET_VS_OFF,
                )
            }),
            ..measured("**Dixian, group commit**", on)
        });
        if let Some(b) = on.mean_batch() {
            batches.push(format!("{:.1} at {}", b, tr.clients));
        }
    }
    t.notes.push(cell::quiet_note(triples.iter().flat_map(|tr| {
        [("raw", &tr.raw), ("off", &tr.off), ("on", &tr.on)]
            .into_iter()
            .filter_map(move |(v, c)| c.as_ref().map(|c| (format!("{v}@{}", tr.clients), c)))
    })));
    // With big commands "off" is no longer bound by one commit per event, and ten times it
    // can exceed what the raw INSERT ceiling reaches: say so next to the verdict.
    if let Some(tr) = triples.iter().find(|t| t.clients == TARGET_CLIENTS)
        && let (Some(raw), Some(off)) = (&tr.raw, &tr.off)
        && TARGET_VS_OFF * off.events_per_s() > raw.events_per_s()
    {
        t.notes.push(format!(
            "At {TARGET_CLIENTS} clients, {TARGET_VS_OFF}× group commit off is {} events/s, above \
             the raw-INSERT ceiling of {} events/s: that target cannot be met on this machine \
             with these commands.",
            rate(TARGET_VS_OFF * off.events_per_s()),
            rate(raw.events_per_s())
        ));
    }
    if !batches.is_empty() {
        t.notes.push(format!(
            "Mean commands per group-commit transaction (clients): {}.",
            batches.join(", ")
        ));
    }
    t
}
