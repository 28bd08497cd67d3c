//! Following ledger feeds: what projections and reactors share.
//!
//! A follower works in steps (one transaction each, from a checkpoint); [`follow`] runs steps
//! until told to stop, woken in-process right after a commit and polling with backoff
//! (10 ms → 1 s) otherwise, so another process's appends are seen within a second. No
//! LISTEN/NOTIFY rides on the append. [`Checkpoints`] publishes how far each follower got, so a
//! request can wait (bounded) for its own write to be followed: read-your-writes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use dixian_store::Commit;
use sqlx::PgPool;
use tokio::sync::watch;

/// (follower, ledger) → checkpoint seq, as far as this process knows.
pub type Progress = HashMap<(String, String), i64>;

/// What a step found: more may be waiting (a full batch), or the follower is idle, or it is
/// blocked and should back off before trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Busy,
    Idle,
    Blocked,
}

/// Runs `step` until `stop` turns true.
pub async fn follow<F, Fut>(
    name: &str,
    mut step: F,
    mut commits: watch::Receiver<Commit>,
    mut stop: watch::Receiver<bool>,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Step>,
{
    const FLOOR: Duration = Duration::from_millis(10);
    let mut idle = FLOOR;
    let mut blocked = Duration::from_millis(100);
    loop {
        if *stop.borrow() {
            return;
        }
        let wait = match step().await {
            Step::Busy => {
                idle = FLOOR;
                blocked = Duration::from_millis(100);
                continue;
            }
            Step::Idle => {
                blocked = Duration::from_millis(100);
                idle
            }
            Step::Blocked => {
                tracing::debug!(
                    follower = name,
                    wait_ms = blocked.as_millis() as u64,
                    "blocked; backing off"
                );
                let wait = blocked;
                blocked = (blocked * 2).min(Duration::from_secs(30));
                wait
            }
        };
        tokio::select! {
            _ = commits.changed() => idle = FLOOR,
            _ = stop.changed() => {}
            _ = tokio::time::sleep(wait) => idle = (idle * 2).min(Duration::from_secs(1)),
        }
    }
}

/// How far followers got, published in-process and confirmed against the stored checkpoints
/// (another process may be the one following).
#[derive(Clone)]
pub struct Checkpoints {
    pool: PgPool,
    /// `select seq from … where <follower> = $1 and ledger = $2`.
    stored: &'static str,
    progress: Arc<watch::Sender<Progress>>,
}

impl Checkpoints {
    pub fn new(pool: PgPool, stored: &'static str) -> Self {
        let (tx, _) = watch::channel(Progress::new());
        Self {
            pool,
            stored,
            progress: Arc::new(tx),
        }
    }

    pub fn publish(&self, follower: &str, ledger: &str, seq: i64) {
        self.progress.send_if_modified(|p| {
            let key = (follower.to_owned(), ledger.to_owned());
            if p.get(&key) == Some(&seq) {
                return false;
            }
            p.insert(key, seq);
            true
        });
    }

    /// Waits until `follower` has passed `ledger` up to `seq`, at most `timeout`. Returns
    /// whether it got there.
    pub async fn wait_for(
        &self,
        follower: &str,
        ledger: &str,
        seq: i64,
        timeout: Duration,
    ) -> Result<bool, sqlx::Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut progress = self.progress.subscribe();
        loop {
            let known = progress
                .borrow_and_update()
                .get(&(follower.to_owned(), ledger.to_owned()))
                .copied();
            if known.is_some_and(|k| k >= seq) {
                return Ok(true);
            }
            let stored: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(self.stored))
                .bind(follower)
                .bind(ledger)
                .fetch_optional(&self.pool)
                .await?;
            if stored.is_some_and(|s| s >= seq) {
                return Ok(true);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let slice = (deadline - now).min(Duration::from_millis(50));
            let _ = tokio::time::timeout(slice, progress.changed()).await;
        }
    }
}

/// Every ledger with its head: what a follower steps through.
pub async fn ledgers(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("select ledger, last_seq from es.ledger order by ledger")
        .fetch_all(pool)
        .await
}
