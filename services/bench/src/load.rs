//! Filling the ledger for the read-side sections: big commands through the store itself
//! (group commit on), so every row has a real place in the hash chain, real stream and command
//! rows, and the load is one more measurement of bulk appends.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use anyhow::{Result, bail};
use dixian_store::ExpectedVersion;

use crate::payload;
use crate::setup::BenchDb;

/// Concurrent loaders: enough to keep group commit batching, few enough to keep each
/// transaction (loaders × command size rows) modest in memory.
pub const LOADERS: usize = 16;

/// What a load did.
#[derive(Debug, Clone, Copy)]
pub struct Loaded {
    pub events: i64,
    pub seconds: f64,
}

impl Loaded {
    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / self.seconds.max(1e-9)
    }
}

/// Appends until the ledger holds at least `target` events, `command_events` per command
/// (each command a new household stream), then VACUUM ANALYZE and CHECKPOINT: the read-side
/// sections measure a settled log, as autovacuum leaves it, not one full of unset hint bits.
pub async fn fill(db: &BenchDb, target: i64, command_events: usize) -> Result<Loaded> {
    let missing = target - db.ledger_len().await?;
    if missing <= 0 {
        // Already big enough (the append sections wrote more); still leave it settled.
        db.vacuum().await?;
        db.checkpoint().await?;
        return Ok(Loaded {
            events: 0,
            seconds: 0.0,
        });
    }
    eprintln!("  loading {missing} events ({command_events} per command)");
    let store = db.group_commit_store();
    let remaining = Arc::new(AtomicI64::new(missing));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..LOADERS {
        let store = store.clone();
        let remaining = remaining.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            loop {
                let take = command_events as i64;
                let before = remaining.fetch_sub(take, Ordering::Relaxed);
                if before <= 0 {
                    return Ok::<_, anyhow::Error>(());
                }
                let events = before.min(take) as usize;
                let stream = payload::new_stream();
                let req = payload::request(&stream, ExpectedVersion::NoStream, events, &mut n);
                store.append(req).await?;
            }
        }));
    }
    let mut failed = None;
    for t in tasks {
        if let Err(e) = t.await? {
            failed.get_or_insert(e);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    store.shutdown(std::time::Duration::from_secs(30)).await;
    if let Some(e) = failed {
        bail!("loading failed: {e}");
    }
    db.vacuum().await?;
    db.checkpoint().await?;
    Ok(Loaded {
        events: missing,
        seconds,
    })
}
