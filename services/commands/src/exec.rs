//! Running a domain command: load the stream, fold it, decide, append — with idempotency and
//! optimistic concurrency.
//!
//! 1. A known command id answers with the first result (same input) or `BAD_USER_INPUT` on
//!    `commandId` (different input), before anything is decided: a retry never re-runs the
//!    domain against a state its own first attempt already changed.
//! 2. The stream is folded with the domain's `evolve`; the command is built against that state
//!    and decided.
//! 3. The events are appended with the version just read as the expected version. If another
//!    writer got there first, the command is decided again on the new state (at most three
//!    times) — the domain re-checks every rule, so nothing stale is written.

use dixian_domain::{Actor, Command, Decider, DomainError, Fact, StreamId};
use dixian_store::{
    AppendError, AppendRequest, Appended, Claim, EventStore, ExpectedVersion, LedgerId, NewEvent,
    RecordedEvent, StreamRead, read,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{CommandError, StreamRef};

/// Tries before a concurrent writer's conflict is reported.
const CONFLICT_RETRIES: usize = 3;

/// Identity and idempotency of one command.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    pub command_id: Uuid,
    /// What makes a retry "the same request": a hash of the client's input (not of ids or
    /// times generated per attempt).
    pub fingerprint: [u8; 32],
    pub correlation_id: Option<Uuid>,
    /// The event that caused this command (set by reactors).
    pub causation_id: Option<Uuid>,
}

impl CommandMeta {
    /// A client's command: its id and the SHA-256 of (mutation name, input).
    pub fn new(command_id: Uuid, input: &impl Serialize, mutation: &str) -> Self {
        let body = serde_json::to_vec(&(mutation, input)).unwrap_or_default();
        Self {
            command_id,
            fingerprint: dixian_store::hash::sha256(&body),
            correlation_id: None,
            causation_id: None,
        }
    }
}

/// A folded stream.
pub struct Loaded<S> {
    pub state: S,
    pub version: i64,
    pub events: Vec<RecordedEvent>,
}

/// Runs commands against the log.
#[derive(Clone, Debug)]
pub struct Executor {
    store: EventStore,
    pool: PgPool,
}

impl Executor {
    pub fn new(store: EventStore, pool: PgPool) -> Self {
        Self { store, pool }
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Reads and folds a stream (optionally as known at / as it was at some time).
    pub async fn load<D>(
        &self,
        stream: &StreamId,
        read_at: StreamRead,
    ) -> Result<Loaded<D::State>, CommandError>
    where
        D: Decider,
        D::Event: DeserializeOwned,
    {
        let id = stream.to_string();
        let mut conn = self.pool.acquire().await?;
        let events = read::read_stream(&mut conn, &id, read_at).await?;
        let mut state = D::State::default();
        for e in &events {
            let decoded: D::Event = e.decode().map_err(|err| {
                CommandError::internal(format!(
                    "{} v{} of {id} does not decode: {err}",
                    e.event_type, e.stream_version
                ))
            })?;
            state = D::evolve(state, &decoded);
        }
        let version = events.last().map(|e| e.stream_version).unwrap_or(0);
        Ok(Loaded {
            state,
            version,
            events,
        })
    }

    /// The ledger a stream lives in, if it has any events.
    pub async fn ledger_of(&self, stream: &StreamId) -> Result<Option<LedgerId>, CommandError> {
        let mut conn = self.pool.acquire().await?;
        match read::stream_version(&mut conn, &stream.to_string()).await? {
            Some((ledger, _)) => Ok(Some(LedgerId::parse(&ledger)?)),
            None => Ok(None),
        }
    }

    /// The stream as it lives in the log, or `NOT_FOUND` naming `what`.
    pub async fn existing(&self, stream: StreamId, what: &str) -> Result<StreamRef, CommandError> {
        match self.ledger_of(&stream).await? {
            Some(ledger) => Ok(StreamRef { id: stream, ledger }),
            None => Err(CommandError::NotFound(format!("no {what}"))),
        }
    }

    /// Decides and appends one command to one stream. `build` makes the command from the folded
    /// state; it runs again if a concurrent writer forces a retry.
    pub async fn execute<D, B>(
        &self,
        stream: &StreamRef,
        meta: &CommandMeta,
        build: impl Fn(&D::State) -> Result<Command<B>, CommandError>,
    ) -> Result<Appended, CommandError>
    where
        D: Decider<Command = Command<B>>,
        D::Event: Fact + Serialize + DeserializeOwned + Send + Sync,
        D::Error: DomainError,
    {
        if let Some(answer) = self.previous_answer(stream, meta).await? {
            return Ok(answer);
        }
        self.execute_unanswered::<D, B>(stream, meta, build).await
    }

    /// [`execute`](Self::execute) for a caller that has already asked the log whether the
    /// command id was applied (and found it was not): one round trip less. A retry that races
    /// with its first attempt is still answered by the append's own idempotency check.
    pub async fn execute_unanswered<D, B>(
        &self,
        stream: &StreamRef,
        meta: &CommandMeta,
        build: impl Fn(&D::State) -> Result<Command<B>, CommandError>,
    ) -> Result<Appended, CommandError>
    where
        D: Decider<Command = Command<B>>,
        D::Event: Fact + Serialize + DeserializeOwned + Send + Sync,
        D::Error: DomainError,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let loaded = self.load::<D>(&stream.id, StreamRead::default()).await?;
            let command = build(&loaded.state)?;
            let events = D::decide(&command, &loaded.state)
                .map_err(|e| CommandError::refused(&e, e.reasons()))?;
            if events.is_empty() {
                return Err(CommandError::Refused(crate::error::Refusal {
                    kind: dixian_domain::ErrorKind::Rule,
                    code: "NOTHING_TO_DO",
                    field: None,
                    message: "the command changes nothing".into(),
                    reasons: vec![],
                }));
            }
            let expected = if loaded.version == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exact(loaded.version)
            };
            let mut request = append_request(&command.actor, stream, meta, expected, &events)?;
            if D::HOLDS_KEYS {
                request.claims = claims::<D>(loaded.state, &events);
            }
            match self.store.append(request).await {
                Ok(appended) => return Ok(appended),
                Err(AppendError::Conflict { .. }) if attempt < CONFLICT_RETRIES => continue,
                // The first stream of a county opens the county's ledger.
                Err(AppendError::UnknownLedger { .. }) if attempt < CONFLICT_RETRIES => {
                    self.store.open_ledger(&stream.ledger).await?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The first answer to a command id already applied, if any.
    pub async fn previous_answer(
        &self,
        stream: &StreamRef,
        meta: &CommandMeta,
    ) -> Result<Option<Appended>, CommandError> {
        match self
            .store
            .find_command(&stream.ledger, meta.command_id)
            .await?
        {
            None => Ok(None),
            Some((hash, appended))
                if hash == meta.fingerprint && appended.stream_id == stream.text() =>
            {
                Ok(Some(appended))
            }
            Some(_) => Err(CommandError::BadInput {
                field: "commandId".into(),
                message: "this command id was already used for a different request".into(),
            }),
        }
    }
}

/// The keys a stream takes and gives up by appending `events` to `state` (see
/// `Decider::unique_keys`).
fn claims<D: Decider>(state: D::State, events: &[D::Event]) -> Vec<Claim> {
    let before = D::unique_keys(&state);
    let after = D::unique_keys(&events.iter().fold(state, D::evolve));
    let taken = after.iter().filter(|k| !before.contains(k)).cloned();
    let released = before.iter().filter(|k| !after.contains(k)).cloned();
    taken
        .map(Claim::Take)
        .chain(released.map(Claim::Release))
        .collect()
}

/// Who acted, as the log's actor columns hold it.
pub fn store_actor(actor: &Actor) -> dixian_store::Actor {
    dixian_store::Actor {
        user: actor.user_id.to_string(),
        role: actor.role.code().to_owned(),
        jurisdiction: actor.jurisdiction.as_str().to_owned(),
    }
}

/// Builds the store request for decided events; each event's business time becomes its
/// `occurred_at`.
pub fn append_request<E: Fact + Serialize>(
    actor: &Actor,
    stream: &StreamRef,
    meta: &CommandMeta,
    expected: ExpectedVersion,
    events: &[E],
) -> Result<AppendRequest, CommandError> {
    let new_events = events
        .iter()
        .map(|e| NewEvent::new(Uuid::now_v7(), e.event_type(), e, e.at()).map_err(Into::into))
        .collect::<Result<Vec<_>, CommandError>>()?;
    Ok(AppendRequest {
        ledger: stream.ledger.clone(),
        stream_id: stream.text(),
        stream_type: stream.id.kind().to_owned(),
        expected,
        command_id: Some(meta.command_id),
        fingerprint: Some(meta.fingerprint),
        actor: store_actor(actor),
        correlation_id: meta.correlation_id,
        causation_id: meta.causation_id,
        events: new_events,
        claims: Vec::new(),
    })
}
