//! How much CPU *other* work took while a cell ran. The machine is shared (builds, tests), and
//! on two cores a busy neighbour changes every figure; the reference baseline threw such runs
//! away, and so does the bench: a cell during which foreign processes used more than
//! [`LIMIT`] of a core is run again (up to `--retries` times) and the quietest attempt kept.
//!
//! Foreign = all busy CPU (/proc/stat) − this process − the PostgreSQL processes serving this
//! run (backends connected to the bench database, and the server's own auxiliary processes).
//!
//! Neighbours also write to the disk, and a commit waits for an fdatasync: on this kind of VM
//! one takes ~70 µs when the disk is quiet and 0.3–3 ms while a build writes. So a cell is also
//! disturbed when a small fdatasync probe right after it is slower than [`FSYNC_LIMIT`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Foreign CPU above this share of one core marks a measurement as disturbed.
pub const LIMIT: f64 = 0.10;

/// An fdatasync probe slower than this (median) marks the disk as busy.
pub const FSYNC_LIMIT: Duration = Duration::from_micros(300);

/// Median time of an 8 kB write plus fdatasync to a scratch file in the temporary directory
/// (the same disk as PostgreSQL's WAL on a one-disk VM): the floor under every commit.
pub async fn fsync_probe() -> Duration {
    tokio::task::spawn_blocking(|| {
        use std::os::unix::fs::FileExt;
        let path = std::env::temp_dir().join(format!("dixian-bench-{}.fsync", std::process::id()));
        let Ok(file) = std::fs::File::create(&path) else {
            return Duration::ZERO;
        };
        let block = [0x5a_u8; 8192];
        let mut times = Vec::with_capacity(9);
        for _ in 0..9 {
            let t = Instant::now();
            if file
                .write_at(&block, 0)
                .and_then(|_| file.sync_data())
                .is_err()
            {
                break;
            }
            times.push(t.elapsed());
        }
        let _ = std::fs::remove_file(&path);
        times.sort_unstable();
        times.get(times.len() / 2).copied().unwrap_or_default()
    })
    .await
    .unwrap_or_default()
}

/// A CPU-time snapshot.
pub struct Snapshot {
    at: Instant,
    busy: u64,
    ours: HashMap<u32, u64>,
}

fn clock_ticks() -> f64 {
    // USER_HZ is 100 on every Linux ABI this runs on; procfs reports times in it.
    100.0
}

fn total_busy() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().next() else {
        return 0;
    };
    // user nice system idle iowait irq softirq steal …: everything but idle and iowait.
    cpu.split_whitespace()
        .skip(1)
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .filter_map(|(_, v)| v.parse::<u64>().ok())
        .sum()
}

/// utime + stime of a process, in ticks.
fn process_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// This process and the PostgreSQL processes that serve `database`.
fn ours(database: &str) -> HashMap<u32, u64> {
    let mut out = HashMap::new();
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let mine = pid == me || {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let cmdline =
                std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            // Client backends name their database and client address ("… db 127.0.0.1(port)");
            // auxiliary processes (WAL writer, checkpointer, …) name neither.
            comm.trim() == "postgres" && (cmdline.contains(database) || !cmdline.contains('('))
        };
        if mine && let Some(t) = process_ticks(&pid.to_string()) {
            out.insert(pid, t);
        }
    }
    out
}

impl Snapshot {
    pub fn take(database: &str) -> Self {
        Self {
            at: Instant::now(),
            busy: total_busy(),
            ours: ours(database),
        }
    }

    /// Foreign CPU since this snapshot, in cores (0.25 = a quarter of one core).
    pub fn foreign_since(&self, database: &str) -> f64 {
        let now = Self::take(database);
        let ours: u64 = now
            .ours
            .iter()
            .map(|(pid, t)| t.saturating_sub(self.ours.get(pid).copied().unwrap_or(0)))
            .sum();
        let foreign = now.busy.saturating_sub(self.busy).saturating_sub(ours);
        let seconds = (now.at - self.at).as_secs_f64().max(1e-3);
        foreign as f64 / clock_ticks() / seconds
    }
}

/// Waits (at most `max`) for half a second in which foreign processes stay under [`LIMIT`]
/// and the disk answers an fdatasync within [`FSYNC_LIMIT`]: starting a cell in the middle of
/// a neighbour's compile wastes the attempt.
pub async fn wait_for_quiet(database: &str, max: Duration) {
    let deadline = Instant::now() + max;
    while Instant::now() < deadline {
        let s = Snapshot::take(database);
        tokio::time::sleep(Duration::from_millis(500)).await;
        if s.foreign_since(database) <= LIMIT && fsync_probe().await <= FSYNC_LIMIT {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_wait_measures_little_of_our_own_cpu_as_foreign() {
        let s = Snapshot::take("no_such_database");
        // Burn CPU in this process: it must not count as foreign.
        let started = Instant::now();
        let mut x = 0_u64;
        while started.elapsed().as_millis() < 300 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let foreign = s.foreign_since("no_such_database");
        assert!(foreign >= 0.0);
        assert!(foreign < 2.0, "{foreign}");
    }
}
