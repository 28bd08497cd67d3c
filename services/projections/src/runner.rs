//! Keeps projections current: per projection, follows every ledger's feed from its checkpoint.
//!
//! One step = one transaction: lock the checkpoint row, read the next batch of the feed, apply
//! it, move the checkpoint, commit. The read models and the checkpoint commit together, so a
//! crash anywhere rolls the whole step back and it is simply done again. `skip locked` lets
//! several server processes share the work without leader election: whoever holds a
//! (projection, ledger) row does that step, the others move on.
//!
//! Wake-ups and read-your-writes waits are the shared [`feed`](crate::feed) machinery.

use std::sync::Arc;
use std::time::Duration;

use dixian_store::{Commit, read};
use sqlx::{PgPool, Row};
use tokio::sync::watch;

use crate::feed::{self, Checkpoints};
use crate::{Projection, ProjectionError, set_search_path};

/// Events applied per transaction.
pub const BATCH: i64 = 500;

/// Runs projections until told to stop.
#[derive(Clone)]
pub struct Runner {
    pool: PgPool,
    projections: Vec<Arc<dyn Projection>>,
    checkpoints: Checkpoints,
}

impl Runner {
    pub fn new(pool: PgPool, projections: Vec<Arc<dyn Projection>>) -> Self {
        Self {
            checkpoints: Checkpoints::new(
                pool.clone(),
                "select seq from es.checkpoint where projection = $1 and ledger = $2",
            ),
            pool,
            projections,
        }
    }

    pub fn projections(&self) -> &[Arc<dyn Projection>] {
        &self.projections
    }

    /// Creates every projection's schema and tables if missing.
    pub async fn prepare(&self) -> Result<(), sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        for p in &self.projections {
            crate::ensure_schema(&mut conn, p.as_ref(), p.name()).await?;
        }
        Ok(())
    }

    /// Spawns one task per projection; they stop when `stop` turns true.
    pub fn spawn(
        &self,
        commits: watch::Receiver<Commit>,
        stop: watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        self.projections
            .iter()
            .map(|p| {
                let runner = self.clone();
                let p = p.clone();
                let commits = commits.clone();
                let stop = stop.clone();
                tokio::spawn(async move { runner.follow(p, commits, stop).await })
            })
            .collect()
    }

    async fn follow(
        &self,
        projection: Arc<dyn Projection>,
        commits: watch::Receiver<Commit>,
        stop: watch::Receiver<bool>,
    ) {
        let step = || async {
            match self.catch_up_once(projection.as_ref()).await {
                Ok(true) => feed::Step::Busy,
                Ok(false) => feed::Step::Idle,
                Err(e) => {
                    tracing::error!(projection = projection.name(), error = %e, "projection step failed; retrying");
                    feed::Step::Blocked
                }
            }
        };
        feed::follow(projection.name(), step, commits, stop).await
    }

    /// One step for every ledger. Returns whether any ledger had a full batch (more may wait).
    pub async fn catch_up_once(
        &self,
        projection: &dyn Projection,
    ) -> Result<bool, ProjectionError> {
        let ledgers = feed::ledgers(&self.pool).await?;
        let mut full = false;
        for (ledger, head) in ledgers {
            let (applied, checkpoint) = self.step(projection, &ledger).await?;
            full |= applied as i64 == BATCH;
            metrics::gauge!("dixian_projection_lag_events", "projection" => projection.name(), "ledger" => ledger.clone())
                .set((head - checkpoint).max(0) as f64);
        }
        Ok(full)
    }

    /// Applies the next batch of one ledger. Returns (events applied, checkpoint after).
    pub async fn step(
        &self,
        projection: &dyn Projection,
        ledger: &str,
    ) -> Result<(usize, i64), ProjectionError> {
        sqlx::query(
            "insert into es.checkpoint (projection, ledger, seq) values ($1, $2, 0) on conflict do nothing",
        )
        .bind(projection.name())
        .bind(ledger)
        .execute(&self.pool)
        .await?;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "select seq from es.checkpoint where projection = $1 and ledger = $2 for update skip locked",
        )
        .bind(projection.name())
        .bind(ledger)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok((0, 0)); // another process (or a rebuild) holds it
        };
        let checkpoint: i64 = row.get("seq");
        let events = read::read_ledger(&mut tx, ledger, checkpoint, BATCH)
            .await
            .map_err(|e| match e {
                dixian_store::StoreError::Database(d) => ProjectionError::Database(d),
                other => ProjectionError::Database(sqlx::Error::Protocol(other.to_string())),
            })?;
        let Some(last) = events.last().map(|e| e.seq) else {
            self.publish(projection.name(), ledger, checkpoint);
            return Ok((0, checkpoint));
        };
        set_search_path(&mut tx, projection.name()).await?;
        for (expect, e) in (checkpoint + 1..).zip(&events) {
            // The feed is gap-free by construction; a hole here means the log was tampered with.
            assert_eq!(
                e.seq,
                expect,
                "ledger {ledger} feed jumped from {} to {}",
                expect - 1,
                e.seq
            );
        }
        projection.apply_batch(&mut tx, &events).await?;
        sqlx::query(
            "update es.checkpoint set seq = $3, updated_at = clock_timestamp()
              where projection = $1 and ledger = $2",
        )
        .bind(projection.name())
        .bind(ledger)
        .bind(last)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        metrics::counter!("dixian_projected_events_total", "projection" => projection.name())
            .increment(events.len() as u64);
        self.publish(projection.name(), ledger, last);
        Ok((events.len(), last))
    }

    fn publish(&self, projection: &str, ledger: &str, seq: i64) {
        self.checkpoints.publish(projection, ledger, seq);
    }

    /// Read-your-writes: waits until `projection` has applied `ledger` up to `seq`, at most
    /// `timeout`. Returns whether it got there.
    pub async fn wait_for(
        &self,
        projection: &str,
        ledger: &str,
        seq: i64,
        timeout: Duration,
    ) -> Result<bool, sqlx::Error> {
        self.checkpoints
            .wait_for(projection, ledger, seq, timeout)
            .await
    }

    /// Applies everything there is, for every projection (used by the CLI and tests).
    pub async fn catch_up(&self) -> Result<(), ProjectionError> {
        for p in &self.projections {
            while self.catch_up_once(p.as_ref()).await? {}
        }
        Ok(())
    }
}
