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

use chrono::{DateTime, Utc};
use std::time::Duration;

use dixian_store::{Commit, RecordedEvent, read};
use sqlx::{PgPool, Row};
use tokio::sync::watch;

use crate::feed::{self, Checkpoints};
use crate::{Projection, ProjectionError, set_search_path};

/// Events applied per transaction.
pub const BATCH: i64 = 500;

/// Longest error message kept on a blocked checkpoint.
const MAX_ERROR_BYTES: usize = 2000;

/// A projection stopped at an event it cannot apply (its lists no longer move in that ledger).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Blocked {
    pub projection: String,
    pub ledger: String,
    /// The event it stops at.
    pub seq: i64,
    pub event_type: Option<String>,
    pub stream_id: Option<String>,
    pub error: String,
    pub attempts: i32,
    pub since: DateTime<Utc>,
}

/// Whether a step waits out a stopped ledger's backoff (the follower) or tries now (an explicit
/// catch-up: the CLI, tests, a rebuild's tail).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pace {
    Patient,
    Now,
}

enum Stepped {
    /// Another process holds this (projection, ledger).
    Held,
    /// Where the checkpoint is now, and whether more may wait.
    At { checkpoint: i64, more: bool },
}

/// Whether a failure is caused by the event being applied (it fails the same way every time,
/// so the runner finds the culprit) rather than by the database being away or busy (connection,
/// rollback, resources, operator intervention, system: retried as they are).
fn about_the_event(e: &ProjectionError) -> bool {
    match e {
        ProjectionError::Decode { .. } => true,
        ProjectionError::Database(sqlx::Error::Database(d)) => d
            .code()
            .is_some_and(|c| !matches!(c.get(..2), Some("08" | "40" | "53" | "57" | "58"))),
        ProjectionError::Database(_) => false,
    }
}

/// Runs projections until told to stop.
#[derive(Clone)]
pub struct Runner {
    /// Where the steps run: the background pool in the server, never the requests'.
    pool: PgPool,
    /// Where requests ask (stuck lists); read-your-writes waits use `checkpoints`' pool.
    reads: PgPool,
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
            reads: pool.clone(),
            pool,
            projections,
        }
    }

    /// Runs the steps on `work` (connections of their own, outside the request pool), so that
    /// background work cannot starve requests nor requests background work.
    pub fn with_background(mut self, work: PgPool) -> Self {
        self.pool = work;
        self
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
            match self.pass(projection.as_ref(), Pace::Patient).await {
                Ok((more, _)) if more => feed::Step::Busy,
                Ok(_) => feed::Step::Idle,
                // The ledgers could not even be listed: the database is away.
                Err(e) => {
                    tracing::error!(projection = projection.name(), error = %e, "projection cannot reach the log; retrying");
                    feed::Step::Blocked
                }
            }
        };
        feed::follow(projection.name(), step, commits, stop).await
    }

    /// One step for every ledger, now (a stopped ledger is tried again without waiting out its
    /// backoff). Returns whether more may wait, or the first ledger's failure (after recording
    /// it; the other ledgers still stepped).
    pub async fn catch_up_once(
        &self,
        projection: &dyn Projection,
    ) -> Result<bool, ProjectionError> {
        let (more, mut failures) = self.pass(projection, Pace::Now).await?;
        match failures.drain(..).next() {
            Some(e) => Err(e),
            None => Ok(more),
        }
    }

    /// One step for every ledger: a ledger whose step fails is recorded as blocked (and backs
    /// off on its own), so one county's bad event never holds up another county's lists.
    async fn pass(
        &self,
        projection: &dyn Projection,
        pace: Pace,
    ) -> Result<(bool, Vec<ProjectionError>), ProjectionError> {
        let ledgers = feed::ledgers(&self.pool).await?;
        let mut more = false;
        let mut failures = Vec::new();
        for (ledger, head) in ledgers {
            let name = projection.name();
            let checkpoint = match self.step_at(projection, &ledger, pace).await {
                Ok(Stepped::Held) => continue, // another process reports this one
                Ok(Stepped::At {
                    checkpoint,
                    more: m,
                }) => {
                    more |= m;
                    metrics::gauge!("dixian_projection_blocked", "projection" => name, "ledger" => ledger.clone()).set(0.0);
                    checkpoint
                }
                Err(e) => {
                    tracing::error!(projection = name, ledger, error = %e, "projection cannot apply the next event; it stops there until the cause is fixed");
                    metrics::gauge!("dixian_projection_blocked", "projection" => name, "ledger" => ledger.clone()).set(1.0);
                    let stored = self.record_blocked(name, &ledger, &e).await;
                    failures.push(e);
                    match stored {
                        Ok(seq) => seq,
                        Err(_) => continue,
                    }
                }
            };
            metrics::gauge!("dixian_projection_lag_events", "projection" => name, "ledger" => ledger.clone())
                .set((head - checkpoint).max(0) as f64);
        }
        Ok((more, failures))
    }

    /// Keeps why a step failed on its checkpoint row; returns the checkpoint it stays at.
    async fn record_blocked(
        &self,
        projection: &str,
        ledger: &str,
        error: &ProjectionError,
    ) -> Result<i64, sqlx::Error> {
        let mut message = error.to_string();
        if message.len() > MAX_ERROR_BYTES {
            let mut cut = MAX_ERROR_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let message = dixian_store::text::storable(&message);
        sqlx::query_scalar(
            "update es.checkpoint set blocked_error = $3,
                    blocked_since = coalesce(blocked_since, clock_timestamp()),
                    attempts = attempts + 1, updated_at = clock_timestamp()
              where projection = $1 and ledger = $2
          returning seq",
        )
        .bind(projection)
        .bind(ledger)
        .bind(message.as_ref())
        .fetch_one(&self.pool)
        .await
    }

    /// Every (projection, ledger) stopped at an event, in the ledgers a region-code prefix
    /// covers (or that cover it), longest stopped first.
    pub async fn blocked(&self, region: &str) -> Result<Vec<Blocked>, sqlx::Error> {
        sqlx::query_as(
            "select c.projection, c.ledger, c.seq + 1 as seq, e.event_type, e.stream_id,
                    c.blocked_error as error, c.attempts, c.blocked_since as since
               from es.checkpoint c
               left join es.event e on e.ledger = c.ledger and e.seq = c.seq + 1
              where c.blocked_error is not null
                and (c.ledger like $1 || '%' or $1 like c.ledger || '%')
              order by c.blocked_since, c.projection, c.ledger",
        )
        .bind(region)
        .fetch_all(&self.reads)
        .await
    }

    /// Applies the next batch of one ledger (a stopped ledger one event at a time).
    async fn step_at(
        &self,
        projection: &dyn Projection,
        ledger: &str,
        pace: Pace,
    ) -> Result<Stepped, ProjectionError> {
        sqlx::query(
            "insert into es.checkpoint (projection, ledger, seq) values ($1, $2, 0) on conflict do nothing",
        )
        .bind(projection.name())
        .bind(ledger)
        .execute(&self.pool)
        .await?;
        let mut tx = self.pool.begin().await?;
        // A blocked ledger is tried again after a backoff (100 ms doubling to 30 s), one event
        // at a time, so the event it stops at is named exactly.
        let row = sqlx::query(
            "select seq, attempts,
                    attempts > 0 and clock_timestamp() < updated_at
                      + least(interval '100 milliseconds' * power(2, least(attempts, 10)),
                              interval '30 seconds') as backing_off
               from es.checkpoint where projection = $1 and ledger = $2 for update skip locked",
        )
        .bind(projection.name())
        .bind(ledger)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Stepped::Held); // another process (or a rebuild) holds it
        };
        let checkpoint: i64 = row.get("seq");
        let attempts: i32 = row.get("attempts");
        if pace == Pace::Patient && row.get::<bool, _>("backing_off") {
            return Ok(Stepped::At {
                checkpoint,
                more: false,
            });
        }
        let limit = if attempts > 0 { 1 } else { BATCH };
        let events = read::read_ledger(&mut tx, ledger, checkpoint, limit)
            .await
            .map_err(|e| match e {
                dixian_store::StoreError::Database(d) => ProjectionError::Database(d),
                other => ProjectionError::Database(sqlx::Error::Protocol(other.to_string())),
            })?;
        let Some(last) = events.last().map(|e| e.seq) else {
            self.publish(projection.name(), ledger, checkpoint);
            return Ok(Stepped::At {
                checkpoint,
                more: false,
            });
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
        if let Err(e) = projection.apply_batch(&mut tx, &events).await {
            drop(tx);
            if events.len() > 1 && about_the_event(&e) {
                return self
                    .narrow(projection, ledger, checkpoint, &events, e)
                    .await;
            }
            return Err(e);
        }
        sqlx::query(
            "update es.checkpoint set seq = $3, updated_at = clock_timestamp(),
                    blocked_error = null, blocked_since = null, attempts = 0
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
        Ok(Stepped::At {
            checkpoint: last,
            more: events.len() as i64 == limit,
        })
    }

    /// A batch failed because of one of its events: applies them one at a time (a savepoint
    /// each), keeps the ones before the culprit and returns the culprit's error, so the ledger
    /// stops exactly at the event that cannot be applied and everything before it is current.
    async fn narrow(
        &self,
        projection: &dyn Projection,
        ledger: &str,
        checkpoint: i64,
        events: &[RecordedEvent],
        first: ProjectionError,
    ) -> Result<Stepped, ProjectionError> {
        let mut tx = self.pool.begin().await?;
        let locked: Option<i64> = sqlx::query_scalar(
            "select seq from es.checkpoint where projection = $1 and ledger = $2 for update skip locked",
        )
        .bind(projection.name())
        .bind(ledger)
        .fetch_optional(&mut *tx)
        .await?;
        if locked != Some(checkpoint) {
            return Err(first); // someone else moved it meanwhile; the next step sees where
        }
        set_search_path(&mut tx, projection.name()).await?;
        let mut good = checkpoint;
        let mut failure = None;
        for e in events {
            sqlx::query("savepoint one_event").execute(&mut *tx).await?;
            match projection
                .apply_batch(&mut tx, std::slice::from_ref(e))
                .await
            {
                Ok(()) => {
                    sqlx::query("release savepoint one_event")
                        .execute(&mut *tx)
                        .await?;
                    good = e.seq;
                }
                Err(err) => {
                    sqlx::query("rollback to savepoint one_event")
                        .execute(&mut *tx)
                        .await?;
                    failure = Some(err);
                    break;
                }
            }
        }
        if good > checkpoint {
            sqlx::query(
                "update es.checkpoint set seq = $3, updated_at = clock_timestamp()
                  where projection = $1 and ledger = $2",
            )
            .bind(projection.name())
            .bind(ledger)
            .bind(good)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        metrics::counter!("dixian_projected_events_total", "projection" => projection.name())
            .increment((good - checkpoint) as u64);
        self.publish(projection.name(), ledger, good);
        match failure {
            Some(err) => Err(err),
            None => {
                // Each event applies alone but not as a batch: `apply_batch` disagrees with
                // `apply`, a defect of the projection. The events are applied; say so loudly.
                tracing::error!(projection = projection.name(), ledger, error = %first, "a batch failed whose events apply one by one; apply_batch and apply disagree");
                Ok(Stepped::At {
                    checkpoint: good,
                    more: true,
                })
            }
        }
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
