//! A minimal `metrics` recorder that keeps one figure the store already reports: the size of
//! each group-commit batch. Knowing how many commands share a transaction (and so an fsync)
//! is what explains the group-commit numbers; everything else the store records is dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// The histogram name the store's writer records batch sizes under.
const BATCH_SIZE: &str = "dixian_group_commit_batch_size";

/// Running totals of group-commit batches.
#[derive(Debug, Default)]
pub struct Batches {
    count: AtomicU64,
    commands: AtomicU64,
}

impl Batches {
    /// (batches, commands) so far; a cell subtracts its start from its end.
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.count.load(Ordering::Relaxed),
            self.commands.load(Ordering::Relaxed),
        )
    }
}

impl metrics::HistogramFn for Batches {
    fn record(&self, value: f64) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.commands.fetch_add(value as u64, Ordering::Relaxed);
    }
}

struct Probe(Arc<Batches>);

impl Recorder for Probe {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
        Counter::noop()
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        if key.name() == BATCH_SIZE {
            Histogram::from_arc(self.0.clone())
        } else {
            Histogram::noop()
        }
    }
}

/// Installs the probe as the process's recorder and returns its totals.
pub fn install() -> Arc<Batches> {
    let batches = Arc::new(Batches::default());
    // Only fails if a recorder is already set, which nothing else in this binary does.
    let _ = metrics::set_global_recorder(Probe(batches.clone()));
    batches
}
