//! Reactors: "when event X is recorded, issue command Y", as checkpointed followers of the
//! ledger feeds.
//!
//! **A reaction happens exactly once.** A reactor follows each ledger from its checkpoint like a
//! projection. The command a reaction issues has an id derived from the triggering event (UUID
//! v5 of the event id and the reaction's name, [`reaction_meta`]), so whatever happens between
//! the command's append and the checkpoint's move — a crash, a restart, a second server process
//! following the same ledger — issuing it again is a duplicate the log answers with its first
//! result. A step takes a lease on the checkpoint row (10 s, renewed as it goes) rather than a
//! row lock, so that it holds no connection while its reactions take theirs; two processes
//! never work the same (reactor, ledger) at once, and one that dies is replaced when its lease
//! runs out. Parked reactions are leased the same way (their next try is moved past the lease).
//!
//! **A reaction that fails is visible.** Two kinds of failure are told apart:
//! - the log or the database failed (conflict after retries, overload, a database error): the
//!   reactor stays at that event, records the error on its checkpoint row (`blocked_error`) and
//!   retries with backoff — nothing after it is skipped;
//! - the domain refused the command (a rule, a missing household): retrying the same command on
//!   the same state gives the same answer, so the reaction is **parked** in
//!   `es.reaction_failure` (in the same transaction that moves the checkpoint past it) and
//!   retried with backoff from 1 s up to an hour, because the state may change (a household
//!   registered late). Other reactions go on.
//!
//! Both show in [`Reactors::stuck`] (the `stuckReactions` query for county officers) and in the
//! metrics `dixian_reactions_total{reactor,outcome}` and `dixian_reactions_stuck{reactor}`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dixian_projections::feed::{self, Checkpoints};
use dixian_store::{Appended, BoxFuture, Commit, LedgerId, RecordedEvent, read};
use futures_util::StreamExt;
use tokio::sync::watch;
use uuid::Uuid;

use crate::{CommandError, CommandMeta, Executor};

/// Events looked at per step.
pub const BATCH: i64 = 200;

/// Parked reactions retried per step.
const RETRY_BATCH: i64 = 50;

/// Streams whose reactions run side by side in a step.
const CONCURRENCY: usize = 16;

/// What became of one event in a step.
enum Outcome {
    /// Not wanted, or not reached (its stream stopped at an earlier failure).
    Skipped,
    Done,
    /// The domain refused: parked.
    Refused(CommandError),
    /// Outside the domain (database, overload): the reactor waits at this event.
    Failed(CommandError),
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Self::Skipped => "skipped",
            Self::Done => "done",
            Self::Refused(_) => "refused",
            Self::Failed(_) => "blocked",
        }
    }
}

/// How long a step may hold a (reactor, ledger) or a parked reaction without renewing.
const LEASE: Duration = Duration::from_secs(10);

/// The namespace of reaction command ids (UUID v5).
const NAMESPACE: Uuid = Uuid::from_u128(0x6469_7869_616e_2d72_6561_6374_696f_6e73);

/// One kind of reaction to the log.
pub trait Reactor: Send + Sync + 'static {
    /// Unique: names the checkpoint and enters every derived command id.
    fn name(&self) -> &'static str;

    /// Whether the event may call for a reaction (a cheap look at its type).
    fn wants(&self, event: &RecordedEvent) -> bool;

    /// Issues what the event calls for, each command identified by [`reaction_meta`]. Must be
    /// safe to run again for the same event: it is, when every command it issues has a
    /// derived id.
    fn react<'a>(
        &'a self,
        exec: &'a Executor,
        event: &'a RecordedEvent,
    ) -> BoxFuture<'a, Result<(), CommandError>>;
}

/// The identity of the command `reaction` issues for `event`: an id that is the same every time
/// (UUID v5 of the event id and the reaction's name), a fingerprint of the same, and the
/// triggering event as its cause.
pub fn reaction_meta(event: &RecordedEvent, reaction: &str) -> CommandMeta {
    let mut name = event.event_id.as_bytes().to_vec();
    name.extend_from_slice(reaction.as_bytes());
    let command_id = Uuid::new_v5(&NAMESPACE, &name);
    let fingerprint = dixian_store::hash::sha256(
        format!("dixian-reaction-v1|{reaction}|{}", event.event_id).as_bytes(),
    );
    CommandMeta {
        command_id,
        fingerprint,
        correlation_id: event.correlation_id.or(event.command_id),
        causation_id: Some(event.event_id),
    }
}

/// A reaction that does not go through: parked after a refusal, or a reactor blocked at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck {
    pub reactor: String,
    pub ledger: String,
    /// The triggering event's position.
    pub seq: i64,
    /// Null for a blocked reactor (the event it waits at may not exist yet in its view).
    pub event_id: Option<Uuid>,
    pub event_type: Option<String>,
    pub stream_id: Option<String>,
    /// `BLOCKED` for a reactor waiting at an event, else the refusal's error code.
    pub error_code: String,
    pub error_detail: Option<String>,
    pub error_message: String,
    pub attempts: i32,
    pub since: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// What became of one reaction, for a request waiting on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    /// The reactor got past the event; the reaction's command landed here (`None` when the
    /// event called for no command after all).
    Done(Option<Appended>),
    /// Parked: the domain refused the reaction's command.
    Refused(Stuck),
    /// Not got there within the wait.
    Pending,
}

/// Runs reactors until told to stop.
#[derive(Clone)]
pub struct Reactors {
    /// Where requests ask (follow-ups, stuck lists).
    exec: Executor,
    /// Where the steps run and the reactions are issued: the background pool in the server.
    work: Executor,
    reactors: Vec<Arc<dyn Reactor>>,
    checkpoints: Checkpoints,
    /// Reactions done in this process whose step has not moved its checkpoint yet.
    reacted: Reacted,
}

/// How a follow-up found its reaction.
enum Reached {
    /// Not within the wait.
    No,
    /// Done by this process (so not refused).
    ReactedHere,
    /// The reactor's checkpoint is past the event (done or parked, here or elsewhere).
    Checkpoint,
}

/// (reactor, ledger, seq) of an event reacted to.
type ReactedEvent = (String, String, i64);

/// The reactions this process has done ahead of its checkpoints (which move at the end of a
/// step): a request waiting on one reaction is answered when that reaction's command has
/// landed, not when the whole step's checkpoint is written (a commit later). Entries go when
/// the checkpoint passes them; another process's reactions are seen through the checkpoint.
#[derive(Clone, Default)]
struct Reacted {
    done: Arc<std::sync::Mutex<std::collections::HashSet<ReactedEvent>>>,
    changed: Arc<tokio::sync::Notify>,
}

impl Reacted {
    fn insert(&self, reactor: &str, ledger: &str, seq: i64) {
        self.done
            .lock()
            .expect("reacted set")
            .insert((reactor.to_owned(), ledger.to_owned(), seq));
        self.changed.notify_waiters();
    }

    fn contains(&self, reactor: &str, ledger: &str, seq: i64) -> bool {
        self.done.lock().expect("reacted set").contains(&(
            reactor.to_owned(),
            ledger.to_owned(),
            seq,
        ))
    }

    /// Forgets what the checkpoint of (reactor, ledger) now covers.
    fn passed(&self, reactor: &str, ledger: &str, checkpoint: i64) {
        self.done
            .lock()
            .expect("reacted set")
            .retain(|(r, l, s)| !(r == reactor && l == ledger && *s <= checkpoint));
    }
}

impl Reactors {
    pub fn new(exec: Executor, reactors: Vec<Arc<dyn Reactor>>) -> Self {
        Self {
            checkpoints: Checkpoints::new(
                exec.pool().clone(),
                "select seq from es.reactor_checkpoint where reactor = $1 and ledger = $2",
            ),
            work: exec.clone(),
            exec,
            reactors,
            reacted: Reacted::default(),
        }
    }

    /// Runs the steps and their reactions on `work` (connections of their own, outside the
    /// request pool); appends still go through the store's group-commit writers.
    pub fn with_background(mut self, work: Executor) -> Self {
        self.work = work;
        self
    }

    /// The reactors the service runs.
    pub fn standard(exec: Executor) -> Self {
        Self::new(exec, vec![Arc::new(crate::alert_reactions::AlertReactions)])
    }

    /// Spawns one task per reactor; they stop when `stop` turns true.
    pub fn spawn(
        &self,
        commits: watch::Receiver<Commit>,
        stop: watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        self.reactors
            .iter()
            .map(|r| {
                let (this, r, commits, stop) =
                    (self.clone(), r.clone(), commits.clone(), stop.clone());
                tokio::spawn(async move {
                    let step = || async {
                        match this.catch_up_once(r.as_ref()).await {
                            Ok(step) => step,
                            Err(e) => {
                                tracing::error!(reactor = r.name(), error = %e.message(), cause = ?e, "reactor step failed; retrying");
                                feed::Step::Blocked
                            }
                        }
                    };
                    feed::follow(r.name(), step, commits, stop).await
                })
            })
            .collect()
    }

    /// One step for every ledger, then the parked reactions that are due.
    pub async fn catch_up_once(&self, reactor: &dyn Reactor) -> Result<feed::Step, CommandError> {
        let mut result = feed::Step::Idle;
        for (ledger, head) in feed::ledgers(self.work.pool()).await? {
            let (seen, checkpoint, blocked) = self.step(reactor, &ledger).await?;
            if blocked {
                result = feed::Step::Blocked;
            } else if seen as i64 == BATCH && result == feed::Step::Idle {
                result = feed::Step::Busy;
            }
            metrics::gauge!("dixian_reactor_lag_events", "reactor" => reactor.name(), "ledger" => ledger.clone())
                .set((head - checkpoint).max(0) as f64);
        }
        self.retry_parked(reactor).await?;
        let stuck: i64 = sqlx::query_scalar(
            "select (select count(*) from es.reaction_failure where reactor = $1 and resolved_at is null)
                  + (select count(*) from es.reactor_checkpoint where reactor = $1 and blocked_error is not null)",
        )
        .bind(reactor.name())
        .fetch_one(self.work.pool())
        .await?;
        metrics::gauge!("dixian_reactions_stuck", "reactor" => reactor.name()).set(stuck as f64);
        Ok(result)
    }

    /// Reacts to the next batch of one ledger. Returns (events looked at, checkpoint after,
    /// whether it is blocked). Each statement takes a pooled connection and gives it back: the
    /// reactions in between take their own.
    pub async fn step(
        &self,
        reactor: &dyn Reactor,
        ledger: &str,
    ) -> Result<(usize, i64, bool), CommandError> {
        let pool = self.work.pool();
        sqlx::query(
            "insert into es.reactor_checkpoint (reactor, ledger) values ($1, $2) on conflict do nothing",
        )
        .bind(reactor.name())
        .bind(ledger)
        .execute(pool)
        .await?;
        // A token per step: two steps never hold one (reactor, ledger), in one process or two.
        let token = Uuid::new_v4();
        let Some((checkpoint, attempts)) = self.lease(reactor, ledger, token).await? else {
            // Another process holds it: report where the checkpoint stands (not 0, which the
            // lag gauge would read as the whole ledger being behind).
            let stored: i64 = sqlx::query_scalar(
                "select seq from es.reactor_checkpoint where reactor = $1 and ledger = $2",
            )
            .bind(reactor.name())
            .bind(ledger)
            .fetch_one(pool)
            .await?;
            return Ok((0, stored, false));
        };
        let events = {
            let mut conn = pool.acquire().await?;
            read::read_ledger(&mut conn, ledger, checkpoint, BATCH).await?
        };
        // Reactions to different streams run side by side (their commands then share group
        // commits); one stream's reactions stay in order. The lease is renewed meanwhile; if
        // it is lost, the work is dropped and the new holder goes on from the checkpoint.
        let work = self.react_all(reactor, &events);
        tokio::pin!(work);
        let mut renew = tokio::time::interval(LEASE / 3);
        renew.tick().await;
        let outcomes = loop {
            tokio::select! {
                outcomes = &mut work => break outcomes,
                _ = renew.tick() => {
                    if self.lease(reactor, ledger, token).await?.is_none() {
                        tracing::warn!(reactor = reactor.name(), ledger, "reactor lease lost mid-step");
                        return Ok((0, checkpoint, false));
                    }
                }
            }
        };
        // The checkpoint moves to just before the first event whose reaction failed for a
        // reason outside the domain (later ones are reacted to again next time: idempotent).
        let mut last = events.last().map_or(checkpoint, |e| e.seq);
        let mut blocked = None;
        for (e, outcome) in events.iter().zip(outcomes) {
            match outcome {
                Outcome::Skipped | Outcome::Done => {}
                Outcome::Refused(err) => {
                    tracing::warn!(reactor = reactor.name(), ledger, seq = e.seq, code = err.code(), detail = ?err.detail(), "reaction refused; parked");
                    park(pool, reactor.name(), e, &err).await?;
                }
                Outcome::Failed(err) => {
                    if blocked.is_none() {
                        last = e.seq - 1;
                        blocked = Some(err);
                    }
                }
            }
        }
        let (error, attempts) = match &blocked {
            None => (None, 0),
            Some(err) => {
                tracing::warn!(reactor = reactor.name(), ledger, seq = last + 1, error = %err.message(), cause = ?err, "reaction failed; the reactor waits there");
                (
                    Some(format!("{}: {}", err.code(), err.message())),
                    attempts.saturating_add(1),
                )
            }
        };
        let moved = sqlx::query(
            "update es.reactor_checkpoint set seq = $4, blocked_error = $5,
                    blocked_since = case when $5::text is null then null
                                         else coalesce(blocked_since, clock_timestamp()) end,
                    attempts = $6, leased_by = null, lease_until = null,
                    updated_at = clock_timestamp()
              where reactor = $1 and ledger = $2 and leased_by = $3",
        )
        .bind(reactor.name())
        .bind(ledger)
        .bind(token)
        .bind(last)
        .bind(error)
        .bind(attempts)
        .execute(pool)
        .await?
        .rows_affected();
        if moved == 0 {
            tracing::warn!(
                reactor = reactor.name(),
                ledger,
                "reactor lease lost before the checkpoint moved"
            );
            return Ok((0, checkpoint, false));
        }
        self.checkpoints.publish(reactor.name(), ledger, last);
        self.reacted.passed(reactor.name(), ledger, last);
        Ok((events.len(), last, blocked.is_some()))
    }

    /// Reacts to every wanted event, at most [`CONCURRENCY`] streams at a time, each
    /// stream's events in order (a stream stops at its first failure outside the domain).
    /// Returns one outcome per event, in the events' order.
    fn react_all<'a>(
        &'a self,
        reactor: &'a dyn Reactor,
        events: &'a [RecordedEvent],
    ) -> BoxFuture<'a, Vec<Outcome>> {
        Box::pin(self.react_all_inner(reactor, events))
    }

    async fn react_all_inner(
        &self,
        reactor: &dyn Reactor,
        events: &[RecordedEvent],
    ) -> Vec<Outcome> {
        // Each stream's wanted events, in log order; streams in order of first appearance.
        let mut keys: Vec<&str> = Vec::new();
        let mut lists: Vec<Vec<usize>> = Vec::new();
        for (i, e) in events.iter().enumerate() {
            if !reactor.wants(e) {
                continue;
            }
            match keys.iter().position(|s| *s == e.stream_id) {
                Some(k) => lists[k].push(i),
                None => {
                    keys.push(&e.stream_id);
                    lists.push(vec![i]);
                }
            }
        }
        // Boxed: an unboxed `async` closure here trips the compiler's proof that the step's
        // future is `Send` (rust-lang/rust#102211).
        let one_stream = |list: Vec<usize>| -> BoxFuture<'_, Vec<(usize, Outcome)>> {
            Box::pin(async move {
                let mut out = Vec::with_capacity(list.len());
                for i in list {
                    let e = &events[i];
                    let outcome = match reactor.react(&self.work, e).await {
                        Ok(()) => {
                            self.reacted.insert(reactor.name(), &e.ledger, e.seq);
                            Outcome::Done
                        }
                        Err(err) if err.is_transient() => Outcome::Failed(err),
                        Err(err) => Outcome::Refused(err),
                    };
                    let failed = matches!(outcome, Outcome::Failed(_));
                    count(reactor, outcome.label());
                    out.push((i, outcome));
                    if failed {
                        break;
                    }
                }
                out
            })
        };
        let per_stream = futures_util::stream::iter(lists)
            .map(one_stream)
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        let mut outcomes: Vec<Outcome> = events.iter().map(|_| Outcome::Skipped).collect();
        for (i, outcome) in per_stream.into_iter().flatten() {
            outcomes[i] = outcome;
        }
        outcomes
    }

    /// Takes (or renews) the lease on a (reactor, ledger); returns its checkpoint and tries,
    /// or `None` when another process holds it.
    async fn lease(
        &self,
        reactor: &dyn Reactor,
        ledger: &str,
        token: Uuid,
    ) -> Result<Option<(i64, i32)>, CommandError> {
        Ok(sqlx::query_as(
            "update es.reactor_checkpoint
                set leased_by = $3, lease_until = clock_timestamp() + make_interval(secs => $4)
              where reactor = $1 and ledger = $2
                and (leased_by is null or leased_by = $3 or lease_until < clock_timestamp())
          returning seq, attempts",
        )
        .bind(reactor.name())
        .bind(ledger)
        .bind(token)
        .bind(LEASE.as_secs_f64())
        .fetch_optional(self.work.pool())
        .await?)
    }

    /// Tries the parked reactions whose time has come again, oldest first. Each is leased by
    /// moving its next try past the lease, so no connection is held while it reacts.
    pub async fn retry_parked(&self, reactor: &dyn Reactor) -> Result<usize, CommandError> {
        let pool = self.work.pool();
        let due: Vec<(String, i64, i32)> = sqlx::query_as(
            "update es.reaction_failure f
                set next_attempt_at = clock_timestamp() + make_interval(secs => $3)
               from (select reactor, ledger, seq from es.reaction_failure
                      where reactor = $1 and resolved_at is null
                        and next_attempt_at <= clock_timestamp()
                      order by ledger, seq limit $2 for update skip locked) d
              where f.reactor = d.reactor and f.ledger = d.ledger and f.seq = d.seq
          returning f.ledger, f.seq, f.attempts",
        )
        .bind(reactor.name())
        .bind(RETRY_BATCH)
        .bind(LEASE.as_secs_f64())
        .fetch_all(pool)
        .await?;
        for (ledger, seq, attempts) in &due {
            let event = {
                let mut conn = pool.acquire().await?;
                read::read_ledger(&mut conn, ledger, seq - 1, 1)
                    .await?
                    .pop()
            };
            let Some(e) = event else { continue };
            match reactor.react(&self.work, &e).await {
                Ok(()) => {
                    count(reactor, "done");
                    sqlx::query(
                        "update es.reaction_failure set resolved_at = clock_timestamp()
                          where reactor = $1 and ledger = $2 and seq = $3",
                    )
                    .bind(reactor.name())
                    .bind(ledger)
                    .bind(seq)
                    .execute(pool)
                    .await?;
                }
                Err(err) => {
                    let next = retry_delay(attempts.saturating_add(1));
                    sqlx::query(
                        "update es.reaction_failure set attempts = attempts + 1,
                                last_failed_at = clock_timestamp(), error_code = $4,
                                error_detail = $5, error_message = $6,
                                next_attempt_at = clock_timestamp() + make_interval(secs => $7)
                          where reactor = $1 and ledger = $2 and seq = $3",
                    )
                    .bind(reactor.name())
                    .bind(ledger)
                    .bind(seq)
                    .bind(err.code())
                    .bind(err.detail())
                    .bind(err.message())
                    .bind(next.as_secs_f64())
                    .execute(pool)
                    .await?;
                }
            }
        }
        Ok(due.len())
    }

    /// Runs every reactor over every ledger until each is idle (the CLI, tests and the demo).
    pub async fn catch_up(&self) -> Result<(), CommandError> {
        for r in &self.reactors {
            loop {
                match self.catch_up_once(r.as_ref()).await? {
                    feed::Step::Busy => continue,
                    feed::Step::Idle => break,
                    feed::Step::Blocked => {
                        return Err(CommandError::Internal(format!(
                            "reactor {} is blocked",
                            r.name()
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether `reactor` has reacted to `seq` of `ledger` (in this process) or its checkpoint
    /// got past it, waiting at most `timeout`.
    async fn reached(
        &self,
        reactor: &str,
        ledger: &str,
        seq: i64,
        timeout: Duration,
    ) -> Result<Reached, CommandError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.reacted.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.reacted.contains(reactor, ledger, seq) {
                return Ok(Reached::ReactedHere);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            tokio::select! {
                _ = &mut notified => {}
                reached = self.checkpoints.wait_for(reactor, ledger, seq, left) => {
                    return Ok(if reached? { Reached::Checkpoint } else { Reached::No });
                }
            }
        }
    }

    /// Read-your-writes for reactions: waits (at most `timeout`) until `reactor` got past
    /// `seq` of `ledger`, then says what became of its reaction `reaction` to that event.
    pub async fn follow_up(
        &self,
        reactor: &str,
        reaction: &str,
        ledger: &LedgerId,
        seq: i64,
        timeout: Duration,
    ) -> Result<FollowUp, CommandError> {
        match self.reached(reactor, ledger.as_str(), seq, timeout).await? {
            Reached::No => return Ok(FollowUp::Pending),
            // Reacted to in this process without a refusal: nothing can be parked.
            Reached::ReactedHere => {}
            Reached::Checkpoint => {
                if let Some(stuck) = self.parked(reactor, ledger, seq).await? {
                    return Ok(FollowUp::Refused(stuck));
                }
            }
        }
        let event = {
            let mut conn = self.exec.pool().acquire().await?;
            read::read_ledger(&mut conn, ledger.as_str(), seq - 1, 1)
                .await?
                .pop()
        };
        let Some(event) = event else {
            return Ok(FollowUp::Done(None));
        };
        let command_id = reaction_meta(&event, reaction).command_id;
        Ok(FollowUp::Done(
            self.exec
                .store()
                .find_command(ledger, command_id)
                .await?
                .map(|(_, appended)| appended),
        ))
    }

    /// The parked reaction of `reactor` to `seq` of `ledger`, if any.
    async fn parked(
        &self,
        reactor: &str,
        ledger: &LedgerId,
        seq: i64,
    ) -> Result<Option<Stuck>, CommandError> {
        let parked: Option<StuckRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{STUCK_SELECT} and f.reactor = $1 and f.ledger = $2 and f.seq = $3"
        )))
        .bind(reactor)
        .bind(ledger.as_str())
        .bind(seq)
        .fetch_optional(self.exec.pool())
        .await?;
        Ok(parked.map(Stuck::from))
    }

    /// Every reaction that does not go through in the ledgers a region-code prefix covers
    /// (or that cover it): parked refusals and blocked reactors, oldest first.
    pub async fn stuck(&self, region: &str) -> Result<Vec<Stuck>, CommandError> {
        let parked: Vec<StuckRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{STUCK_SELECT} and (f.ledger like $1 || '%' or $1 like f.ledger || '%')"
        )))
        .bind(region)
        .fetch_all(self.exec.pool())
        .await?;
        let mut out: Vec<Stuck> = parked.into_iter().map(Stuck::from).collect();
        let blocked: Vec<BlockedRow> = sqlx::query_as(
            "select reactor, ledger, seq + 1, blocked_error, attempts, blocked_since
                   from es.reactor_checkpoint
                  where blocked_error is not null
                    and (ledger like $1 || '%' or $1 like ledger || '%')
                  order by blocked_since",
        )
        .bind(region)
        .fetch_all(self.exec.pool())
        .await?;
        out.extend(
            blocked
                .into_iter()
                .map(|(reactor, ledger, seq, error, attempts, since)| Stuck {
                    reactor,
                    ledger,
                    seq,
                    event_id: None,
                    event_type: None,
                    stream_id: None,
                    error_code: "BLOCKED".into(),
                    error_detail: None,
                    error_message: error.unwrap_or_default(),
                    attempts,
                    since: since.unwrap_or_else(Utc::now),
                    next_attempt_at: None,
                }),
        );
        out.sort_by_key(|s| s.since);
        Ok(out)
    }
}

/// A blocked reactor: reactor, ledger, the event it waits at, the error, tries, since when.
type BlockedRow = (
    String,
    String,
    i64,
    Option<String>,
    i32,
    Option<DateTime<Utc>>,
);

/// Parked reactions (add conditions with `and …`).
const STUCK_SELECT: &str = "select f.reactor, f.ledger, f.seq, f.event_id, f.event_type,
        f.stream_id, f.error_code, f.error_detail, f.error_message, f.attempts,
        f.first_failed_at, f.next_attempt_at
   from es.reaction_failure f
  where f.resolved_at is null";

#[derive(sqlx::FromRow)]
struct StuckRow {
    reactor: String,
    ledger: String,
    seq: i64,
    event_id: Uuid,
    event_type: String,
    stream_id: String,
    error_code: String,
    error_detail: Option<String>,
    error_message: String,
    attempts: i32,
    first_failed_at: DateTime<Utc>,
    next_attempt_at: DateTime<Utc>,
}

impl From<StuckRow> for Stuck {
    fn from(r: StuckRow) -> Self {
        Self {
            reactor: r.reactor,
            ledger: r.ledger,
            seq: r.seq,
            event_id: Some(r.event_id),
            event_type: Some(r.event_type),
            stream_id: Some(r.stream_id),
            error_code: r.error_code,
            error_detail: r.error_detail,
            error_message: r.error_message,
            attempts: r.attempts,
            since: r.first_failed_at,
            next_attempt_at: Some(r.next_attempt_at),
        }
    }
}

/// Parks a refused reaction (or refreshes it when a replayed step meets it again).
async fn park(
    pool: &sqlx::PgPool,
    reactor: &str,
    e: &RecordedEvent,
    err: &CommandError,
) -> Result<(), CommandError> {
    sqlx::query(
        "insert into es.reaction_failure
           (reactor, ledger, seq, event_id, event_type, stream_id, error_code, error_detail,
            error_message, next_attempt_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, clock_timestamp() + make_interval(secs => $10))
         on conflict (reactor, ledger, seq) do update set
           attempts = es.reaction_failure.attempts + 1, last_failed_at = clock_timestamp(),
           error_code = excluded.error_code, error_detail = excluded.error_detail,
           error_message = excluded.error_message, next_attempt_at = excluded.next_attempt_at",
    )
    .bind(reactor)
    .bind(&e.ledger)
    .bind(e.seq)
    .bind(e.event_id)
    .bind(&e.event_type)
    .bind(&e.stream_id)
    .bind(err.code())
    .bind(err.detail())
    .bind(err.message())
    .bind(retry_delay(1).as_secs_f64())
    .execute(pool)
    .await?;
    Ok(())
}

/// 1 s, 2 s, 4 s … up to an hour.
fn retry_delay(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 13) - 1).unwrap_or(0);
    Duration::from_secs(2u64.pow(exp)).min(Duration::from_secs(3600))
}

fn count(reactor: &dyn Reactor, outcome: &'static str) {
    metrics::counter!("dixian_reactions_total", "reactor" => reactor.name(), "outcome" => outcome)
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_a_second_to_an_hour() {
        assert_eq!(retry_delay(1), Duration::from_secs(1));
        assert_eq!(retry_delay(2), Duration::from_secs(2));
        assert_eq!(retry_delay(10), Duration::from_secs(512));
        assert_eq!(retry_delay(500), Duration::from_secs(3600));
    }
}
