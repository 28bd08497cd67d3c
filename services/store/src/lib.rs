//! The Dixian event log on PostgreSQL.
//!
//! A set of **ledgers** — one per county — each a totally ordered, gap-free, hash-chained log.
//! A stream (a household's file, an alert, a user) belongs to one ledger for life. Appends take
//! the ledger's head-row lock, check idempotency and the stream's expected version, assign
//! `seq = head + 1 …`, link each event into the hash chain and move the head, all in one
//! transaction ([`append`]). Reads are by stream or by ledger feed ([`read`]); [`verify`]
//! recomputes the chain and checks auditors' anchors.
//!
//! What this crate does not do: decide anything about households (that is `dixian-domain`), or
//! keep read models (that is `dixian-projections`). It never updates or deletes an event, and
//! the database refuses it anyway.

#![forbid(unsafe_code)]

pub mod append;
pub mod audit;
pub mod db;
pub mod error;
pub mod hash;
pub mod model;
pub mod probe;
pub mod read;
pub mod text;
pub mod verify;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

pub use append::{BoxFuture, InlineProjection};
pub use error::{AppendError, StoreError};
pub use model::{
    Actor, AppendRequest, Appended, Claim, ExpectedVersion, LedgerHead, LedgerId, NewEvent,
    RecordedEvent,
};
pub use read::StreamRead;
pub use verify::{Anchor, AnchorKey, Damage, Problem, VerifyReport};
pub use writer::GroupCommitConfig;

/// A stored command: (request hash, stream, first seq, last seq, stream version, recorded at).
type CommandRow = (
    Vec<u8>,
    String,
    i64,
    i64,
    i64,
    chrono::DateTime<chrono::Utc>,
);

/// The latest commit a process has seen: projections wake on changes of this.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    pub ledger: String,
    pub seq: i64,
}

/// The event store: appends (directly or through per-ledger group commit) and reads.
#[derive(Clone)]
pub struct EventStore {
    pool: PgPool,
    inline: Arc<Vec<Arc<dyn InlineProjection>>>,
    commits: Arc<watch::Sender<Commit>>,
    writers: Option<Arc<writer::Writers>>,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("group_commit", &self.writers.is_some())
            .finish()
    }
}

impl EventStore {
    /// A store that appends each command in its own transaction.
    pub fn new(pool: PgPool) -> Self {
        let (tx, _) = watch::channel(Commit::default());
        Self {
            pool,
            inline: Arc::new(Vec::new()),
            commits: Arc::new(tx),
            writers: None,
        }
    }

    /// Registers read models updated inside every append transaction.
    pub fn with_inline(mut self, projections: Vec<Arc<dyn InlineProjection>>) -> Self {
        self.inline = Arc::new(projections);
        self
    }

    /// Appends through one writer per ledger that commits every waiting command in one
    /// transaction (one fsync for many commands), each still checked on its own.
    pub fn with_group_commit(mut self, config: GroupCommitConfig) -> Self {
        self.writers = Some(Arc::new(writer::Writers::new(config)));
        self
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Watches commits made through this store (in this process).
    pub fn commits(&self) -> watch::Receiver<Commit> {
        self.commits.subscribe()
    }

    /// Opens a county's ledger (creating its partition). Returns false when it already existed.
    pub async fn open_ledger(&self, ledger: &LedgerId) -> Result<bool, StoreError> {
        let created: bool = sqlx::query_scalar("select es.open_ledger($1, $1)")
            .bind(ledger.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(created)
    }

    /// Appends one command's events to one stream.
    pub async fn append(&self, req: AppendRequest) -> Result<Appended, AppendError> {
        append::validate(&req)?;
        let started = std::time::Instant::now();
        let result = match &self.writers {
            Some(writers) => writers.submit(self.clone(), req).await,
            None => self.append_direct(req).await,
        };
        metrics::histogram!("dixian_append_seconds").record(started.elapsed().as_secs_f64());
        record_outcome(&result);
        result
    }

    /// Appends in a transaction of its own, bypassing group commit.
    pub async fn append_direct(&self, req: AppendRequest) -> Result<Appended, AppendError> {
        append::validate(&req)?;
        let ledger = req.ledger.to_string();
        let mut results = self.append_batch_tx(&ledger, &[&req]).await?;
        results.pop().expect("one result per request")
    }

    /// Appends inside a transaction the caller controls (the caller commits). Used where an
    /// append must be atomic with other writes of the caller's, and by crash tests.
    pub async fn append_in(
        &self,
        conn: &mut sqlx::PgConnection,
        req: &AppendRequest,
    ) -> Result<Appended, AppendError> {
        append::validate(req)?;
        let mut outcome =
            append::append_batch(conn, req.ledger.as_str(), &[req], &self.inline).await?;
        outcome.results.pop().expect("one result per request")
    }

    /// Runs one batch in its own transaction and commits it.
    async fn append_batch_tx(
        &self,
        ledger: &str,
        reqs: &[&AppendRequest],
    ) -> Result<Vec<Result<Appended, AppendError>>, AppendError> {
        // Never hold a ledger hostage: a stuck lock holder makes appenders fail fast instead.
        // (Sent with BEGIN as one simple query: one round trip, not two.)
        let mut tx = self
            .pool
            .begin_with("begin; set local lock_timeout = '5s'")
            .await?;
        let outcome = append::append_batch(&mut tx, ledger, reqs, &self.inline).await?;
        tx.commit().await?;
        if let Some(seq) = outcome.last_seq {
            self.commits.send_replace(Commit {
                ledger: ledger.to_owned(),
                seq,
            });
        }
        Ok(outcome.results)
    }

    /// The stream holding a unique key in a ledger, if any (see [`Claim`]).
    pub async fn claim_holder(
        &self,
        ledger: &LedgerId,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        if let Some(reason) = append::claim_key_problem(key) {
            return Err(StoreError::Invalid(reason));
        }
        Ok(
            sqlx::query_scalar("select stream_id from es.claim where ledger = $1 and key = $2")
                .bind(ledger.as_str())
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The original answer for a command id, if that command was applied (checked by the API
    /// before deciding, so a retry is answered without re-running the domain).
    pub async fn find_command(
        &self,
        ledger: &LedgerId,
        command_id: Uuid,
    ) -> Result<Option<(Vec<u8>, Appended)>, StoreError> {
        let row: Option<CommandRow> = sqlx::query_as(
            "select request_hash, stream_id, first_seq, last_seq, stream_version, recorded_at
                   from es.command where ledger = $1 and command_id = $2",
        )
        .bind(ledger.as_str())
        .bind(command_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(hash, stream_id, first_seq, last_seq, stream_version, recorded_at)| {
                (
                    hash,
                    Appended {
                        ledger: ledger.clone(),
                        stream_id,
                        first_seq,
                        last_seq,
                        stream_version,
                        recorded_at,
                        duplicate: true,
                    },
                )
            },
        ))
    }

    /// Stops taking commands and waits (bounded) until every queued command is committed.
    pub async fn shutdown(&self, timeout: Duration) {
        if let Some(writers) = &self.writers {
            writers.shutdown(timeout).await;
        }
    }
}

fn record_outcome(result: &Result<Appended, AppendError>) {
    match result {
        Ok(a) if a.duplicate => metrics::counter!("dixian_append_duplicates_total").increment(1),
        Ok(_) => metrics::counter!("dixian_appends_total").increment(1),
        Err(AppendError::Conflict { .. }) => {
            metrics::counter!("dixian_append_conflicts_total").increment(1)
        }
        Err(e) => metrics::counter!("dixian_append_errors_total", "code" => e.code()).increment(1),
    }
}
