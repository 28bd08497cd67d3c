//! What the HTTP benchmarks share: a measured cell of concurrent clients, and a database of
//! their own on the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use dixian_domain::IdNumber;

/// A fictitious but valid resident ID number of Linzi, born in `year`, one per `serial` below
/// 1000 (for the people the benches register).
pub fn id_number(year: u32, serial: usize) -> String {
    let first17 = format!(
        "370305{year}{:02}{:02}{:03}",
        1 + serial % 12,
        1 + serial % 28,
        serial % 1000
    );
    format!(
        "{first17}{}",
        IdNumber::check_digit(&first17).expect("17 digits")
    )
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Latencies (ms) of the operations that counted, over `seconds` of measurement.
#[derive(Clone, Default)]
pub struct Cell {
    pub samples: Vec<f64>,
    pub seconds: f64,
}

impl Cell {
    pub fn rate(&self) -> f64 {
        self.samples.len() as f64 / self.seconds.max(1e-9)
    }
    pub fn p50(&self) -> f64 {
        percentile(&self.samples, 0.50)
    }
    pub fn p99(&self) -> f64 {
        percentile(&self.samples, 0.99)
    }
    /// Samples of several cells pooled (for the alternating growth rounds).
    pub fn pool(cells: &[Cell]) -> Cell {
        let mut samples: Vec<f64> = cells.iter().flat_map(|c| c.samples.clone()).collect();
        samples.sort_by(|a, b| a.total_cmp(b));
        Cell {
            samples,
            seconds: cells.iter().map(|c| c.seconds).sum(),
        }
    }
}

pub type Op =
    Arc<dyn Fn(usize) -> futures_util::future::BoxFuture<'static, Result<()>> + Send + Sync>;

/// Runs `clients` loops of `op` for `seconds` after a warm-up; counts only operations that
/// started after the warm-up and ended before the deadline.
pub async fn measure(clients: usize, warmup: Duration, seconds: f64, op: Op) -> Result<Cell> {
    let start = Instant::now() + warmup;
    let end = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = c;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                op(i).await?;
                let t1 = Instant::now();
                if t0 >= start && t1 <= end {
                    lat.push((t1 - t0).as_secs_f64() * 1000.0);
                }
                i += clients;
            }
            anyhow::Ok(lat)
        }));
    }
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await??);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    Ok(Cell { samples, seconds })
}

/// A database of our own on the server (dropped again by [`drop_database`]).
pub async fn create_database(
    admin: &mut sqlx::PgConnection,
    base_url: &str,
    name: &str,
) -> Result<String> {
    drop_database(admin, name).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&mut *admin)
        .await?;
    match base_url.rsplit_once('/') {
        Some((base, _)) => Ok(format!("{base}/{name}")),
        None => anyhow::bail!("DATABASE_URL needs a database part"),
    }
}

pub async fn drop_database(admin: &mut sqlx::PgConnection, name: &str) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&mut *admin)
    .await?;
    Ok(())
}
