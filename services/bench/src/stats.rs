//! Latency percentiles and the process's memory, the two figures every cell reports besides
//! its rate.

use std::time::Duration;

/// Latency samples in microseconds. Exact percentiles from sorted samples: a 5-second cell
/// holds at most a few hundred thousand, which is cheap to sort and needs no histogram.
#[derive(Debug, Default, Clone)]
pub struct Latencies(Vec<u32>);

impl Latencies {
    pub fn record(&mut self, d: Duration) {
        self.0
            .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX));
    }

    pub fn merge(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    /// (p50, p99) in milliseconds; zeros when nothing was recorded.
    pub fn p50_p99(&mut self) -> (f64, f64) {
        if self.0.is_empty() {
            return (0.0, 0.0);
        }
        self.0.sort_unstable();
        (self.percentile(0.50), self.percentile(0.99))
    }

    /// Nearest-rank percentile of sorted samples, in milliseconds.
    fn percentile(&self, p: f64) -> f64 {
        let rank = ((p * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
        f64::from(self.0[rank - 1]) / 1000.0
    }
}

/// Resident memory of this process in MiB: (current VmRSS, peak VmHWM).
pub fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0), so the next reading is the peak of what
/// follows, not of the whole process's life. Returns whether the kernel accepted it.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut l = Latencies::default();
        for us in 1..=100 {
            l.record(Duration::from_micros(us * 1000));
        }
        assert_eq!(l.p50_p99(), (50.0, 99.0));
    }

    #[test]
    fn rss_is_read_from_proc() {
        let (rss, hwm) = rss_mib();
        assert!(rss > 0.0 && hwm >= rss);
    }
}
