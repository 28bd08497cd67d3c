//! Running a domain command: load the stream, fold it, decide, append — with idempotency and
//! optimistic concurrency.
//!
//! 1. A known command id answers with the first result (same input) or `BAD_USER_INPUT` on
//!    `commandId` (different input), before anything is decided: a retry never re-runs the
//!    domain against a state its own first attempt already changed.
//! 2. The stream is folded with the domain's `evolve`; the command is built against that state
//!    (the policy book in force is loaded for commands that need it) and decided.
//! 3. The events are appended with the version just read as the expected version. If another
//!    writer got there first, the command is decided again on the new state (at most three
//!    times) — the domain re-checks every rule, so nothing stale is written.

use chrono::{DateTime, Utc};
use dixian_domain::alert::{Alert, AlertEvent};
use dixian_domain::household::{Household, HouseholdEvent};
use dixian_domain::policy::PolicyEvent;
use dixian_domain::{Decider, DomainError, ErrorKind, RegionCode};
use dixian_store::{
    AppendError, AppendRequest, Appended, ExpectedVersion, LedgerId, NewEvent, RecordedEvent,
    StreamRead, read,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::fold_cache::PolicyFold;
use crate::schema::ApiContext;

/// Tries before a concurrent writer's conflict is reported to the client.
const CONFLICT_RETRIES: usize = 3;

/// Event enums that know their type name.
pub trait TypedEvent: Serialize + DeserializeOwned + Send + Sync {
    fn type_name(&self) -> &'static str;
}

impl TypedEvent for HouseholdEvent {
    fn type_name(&self) -> &'static str {
        self.event_type()
    }
}

impl TypedEvent for AlertEvent {
    fn type_name(&self) -> &'static str {
        self.event_type()
    }
}

impl TypedEvent for dixian_domain::user::UserEvent {
    fn type_name(&self) -> &'static str {
        self.event_type()
    }
}

impl TypedEvent for dixian_domain::region_registry::RegionEvent {
    fn type_name(&self) -> &'static str {
        self.event_type()
    }
}

impl TypedEvent for PolicyEvent {
    fn type_name(&self) -> &'static str {
        self.event_type()
    }
}

/// A stream's identity: id, type and home ledger.
#[derive(Debug, Clone)]
pub struct StreamRef {
    pub id: String,
    pub stream_type: &'static str,
    pub ledger: LedgerId,
}

impl StreamRef {
    pub fn household(id: Uuid, county: &str) -> Result<Self, ApiError> {
        Ok(Self {
            id: format!("household-{id}"),
            stream_type: "household",
            ledger: ledger(county)?,
        })
    }

    pub fn alert(id: Uuid, county: &str) -> Result<Self, ApiError> {
        Ok(Self {
            id: format!("alert-{id}"),
            stream_type: "alert",
            ledger: ledger(county)?,
        })
    }

    /// A user lives in the ledger of their jurisdiction's county, or of their province when the
    /// jurisdiction is wider than a county.
    pub fn user(id: Uuid, jurisdiction: &RegionCode) -> Result<Self, ApiError> {
        let home = jurisdiction
            .county()
            .unwrap_or_else(|| format!("{}0000", jurisdiction.province()));
        Ok(Self {
            id: format!("user-{id}"),
            stream_type: "user",
            ledger: ledger(&home)?,
        })
    }

    /// A province's policy lives in the province's own ledger, `<2 digits>0000`.
    pub fn policy(province: &str) -> Result<Self, ApiError> {
        Ok(Self {
            id: format!("policy-{province}"),
            stream_type: "policy",
            ledger: ledger(&format!("{province}0000"))?,
        })
    }
}

fn ledger(code: &str) -> Result<LedgerId, ApiError> {
    LedgerId::parse(code)
        .map_err(|_| ApiError::bad_input("region", format!("{code} is not a county code")))
}

/// The county (ledger) of a region code, for streams that live in a county's ledger.
pub fn county_of(region: &RegionCode) -> Result<String, ApiError> {
    region.county().ok_or_else(|| {
        ApiError::bad_input("village", "a county-level or lower region code is needed")
    })
}

/// A folded stream.
pub struct Loaded<S> {
    pub state: S,
    pub version: i64,
    pub events: Vec<RecordedEvent>,
}

/// Reads and folds a stream (optionally as known at / as it was at some time).
pub async fn load<D>(
    pool: &PgPool,
    stream_id: &str,
    read_at: StreamRead,
) -> Result<Loaded<D::State>, ApiError>
where
    D: Decider,
    D::Event: DeserializeOwned,
{
    let mut conn = pool.acquire().await?;
    let events = read::read_stream(&mut conn, stream_id, read_at).await?;
    let mut state = D::State::default();
    for e in &events {
        let decoded: D::Event = e.decode().map_err(|err| {
            ApiError::internal(format!(
                "{} v{} of {stream_id} does not decode: {err}",
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

/// The province's policy book (empty when none was ever set: the domain then applies the
/// national 2023 rules). From the fold cache, checked against the log.
pub async fn policy_book(api: &ApiContext, province: &str) -> Result<PolicyFold, ApiError> {
    api.folds.policy(province).await
}

/// Maps a domain refusal to the client's error code table.
pub fn domain_error(e: &(impl DomainError + ?Sized)) -> ApiError {
    let message = e.to_string();
    match e.kind() {
        ErrorKind::Input => ApiError::bad_input(camel_path(e.field().unwrap_or("input")), message),
        ErrorKind::NotFound => ApiError::NotFound(message),
        ErrorKind::Forbidden => ApiError::Forbidden(message),
        ErrorKind::Rule => ApiError::Rule {
            rule: e.code().to_owned(),
            message,
            reasons: Vec::new(),
        },
    }
}

/// `head.id_number` → `head.idNumber`: domain fields are snake_case, GraphQL is camelCase.
pub fn camel_path(path: &str) -> String {
    path.split('.')
        .map(|seg| {
            let mut out = String::new();
            let mut up = false;
            for c in seg.chars() {
                if c == '_' {
                    up = true;
                } else if up {
                    out.extend(c.to_uppercase());
                    up = false;
                } else {
                    out.push(c);
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Identity and idempotency of one client command.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    pub command_id: Uuid,
    /// SHA-256 of the client's input (not of generated ids), so a retry is recognised.
    pub fingerprint: [u8; 32],
    pub correlation_id: Option<Uuid>,
}

impl CommandMeta {
    pub fn new(command_id: Uuid, input: &impl Serialize, mutation: &str) -> Self {
        let body = serde_json::to_vec(&(mutation, input)).unwrap_or_default();
        Self {
            command_id,
            fingerprint: dixian_store::hash::sha256(&body),
            correlation_id: None,
        }
    }
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct Executed {
    pub appended: Appended,
}

/// Decides and appends one command to one stream. `build` makes the domain command from the
/// folded state; it runs again if a concurrent writer forces a retry.
pub async fn execute<D, F>(
    api: &ApiContext,
    caller: &Caller,
    stream: &StreamRef,
    meta: &CommandMeta,
    build: F,
) -> Result<Executed, ApiError>
where
    D: Decider,
    D::Event: TypedEvent,
    D::Error: DomainError + 'static,
    F: Fn(&D::State) -> Result<D::Command, ApiError>,
{
    if let Some(answer) = previous_answer(api, stream, meta).await? {
        return Ok(answer);
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let loaded = load::<D>(&api.pool, &stream.id, StreamRead::default()).await?;
        let command = build(&loaded.state)?;
        let events = D::decide(&command, &loaded.state).map_err(|e| match domain_error(&e) {
            ApiError::Rule { rule, message, .. } => ApiError::Rule {
                rule,
                message,
                reasons: removal_reasons(&e),
            },
            other => other,
        })?;
        if events.is_empty() {
            return Err(ApiError::Rule {
                rule: "NOTHING_TO_DO".into(),
                message: "the command changes nothing".into(),
                reasons: vec![],
            });
        }
        let expected = if loaded.version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(loaded.version)
        };
        let request = append_request(caller, stream, meta, expected, &events)?;
        match api.store.append(request).await {
            Ok(appended) => return Ok(Executed { appended }),
            Err(AppendError::Conflict { .. }) if attempt < CONFLICT_RETRIES => continue,
            // The first stream of a county opens the county's ledger.
            Err(AppendError::UnknownLedger { .. }) if attempt < CONFLICT_RETRIES => {
                api.store.open_ledger(&stream.ledger).await?;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Removal refusals carry every failing reason; other errors none.
fn removal_reasons<E: DomainError + 'static>(e: &E) -> Vec<(String, String)> {
    let any: &dyn std::any::Any = e;
    if let Some(dixian_domain::household::HouseholdError::RemovalNotEligible { reasons }) =
        any.downcast_ref::<dixian_domain::household::HouseholdError>()
    {
        return reasons
            .iter()
            .map(|r| (r.code().to_owned(), r.message_zh()))
            .collect();
    }
    Vec::new()
}

/// The first answer to a command id already applied, if any.
pub async fn previous_answer(
    api: &ApiContext,
    stream: &StreamRef,
    meta: &CommandMeta,
) -> Result<Option<Executed>, ApiError> {
    match api
        .store
        .find_command(&stream.ledger, meta.command_id)
        .await?
    {
        None => Ok(None),
        Some((hash, appended)) if hash == meta.fingerprint && appended.stream_id == stream.id => {
            Ok(Some(Executed { appended }))
        }
        Some(_) => Err(ApiError::bad_input(
            "commandId",
            "this command id was already used for a different request",
        )),
    }
}

/// Builds the store request for decided events.
pub fn append_request<E: TypedEvent>(
    caller: &Caller,
    stream: &StreamRef,
    meta: &CommandMeta,
    expected: ExpectedVersion,
    events: &[E],
) -> Result<AppendRequest, ApiError> {
    let now = Utc::now();
    let new_events = events
        .iter()
        .map(|e| {
            let at = business_time(e).unwrap_or(now);
            NewEvent::new(Uuid::now_v7(), e.type_name(), e, at).map_err(ApiError::from)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AppendRequest {
        ledger: stream.ledger.clone(),
        stream_id: stream.id.clone(),
        stream_type: stream.stream_type.to_owned(),
        expected,
        command_id: Some(meta.command_id),
        fingerprint: Some(meta.fingerprint),
        actor: caller.store_actor(),
        correlation_id: meta.correlation_id,
        causation_id: None,
        events: new_events,
    })
}

/// The business time an event carries in its body (`at`), which becomes `occurred_at`.
fn business_time<E: Serialize>(e: &E) -> Option<DateTime<Utc>> {
    let v = serde_json::to_value(e).ok()?;
    v.get("at")
        .and_then(|a| a.as_str())
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.to_utc())
}

/// Household streams decide with [`Household`]; alerts with [`Alert`].
pub type HouseholdDecider = Household;
pub type AlertDecider = Alert;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_field_paths_become_graphql_field_paths() {
        assert_eq!(camel_path("head.id_number"), "head.idNumber");
        assert_eq!(
            camel_path("baseline_per_capita_fen"),
            "baselinePerCapitaFen"
        );
        assert_eq!(camel_path("input"), "input");
    }
}
