//! The household case file over GraphQL: the dossier (as of any instant), removal eligibility,
//! and one mutation per domain command.

pub mod dossier;
pub mod inputs;
pub mod mutations;

use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use dixian_commands::stream::county_of;
use dixian_commands::{CommandMeta, StreamRef};
use dixian_domain::household::{Household, HouseholdCommand};
use dixian_domain::{Actor, Command, RegionCode, Role, StreamId, china_date};
use dixian_store::{Appended, StreamRead};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::fold_cache::{Folded, province_of};
use crate::pii::PiiKeys;
use crate::schema::{ApiContext, api, caller};

use inputs::HouseholdInput;

pub use dossier::Dossier;

/// How far a device clock may run ahead of the server's before `occurredAt` is refused.
const CLOCK_SKEW_MINUTES: i64 = 10;

/// Where a command landed in the log, so a front end can read its own write.
#[derive(SimpleObject, Clone)]
pub struct Position {
    pub ledger: String,
    pub first_seq: i64,
    pub last_seq: i64,
    pub stream_version: i64,
    pub recorded_at: DateTime<Utc>,
}

impl From<&Appended> for Position {
    fn from(a: &Appended) -> Self {
        Self {
            ledger: a.ledger.to_string(),
            first_seq: a.first_seq,
            last_seq: a.last_seq,
            stream_version: a.stream_version,
            recorded_at: a.recorded_at,
        }
    }
}

/// The answer to every household mutation: the file after the command, where it was written,
/// and whether this was a replay of a command already applied.
#[derive(SimpleObject)]
pub struct HouseholdPayload {
    pub household: Dossier,
    pub position: Position,
    /// True when the command id was already applied: nothing new was written.
    pub duplicate: bool,
}

/// Folds a household for reading and checks the caller may see it. Outside the caller's
/// jurisdiction the household does not exist (NOT_FOUND), so ids cannot be probed.
///
/// "Now" comes from the fold cache (checked against the log's current version in the same
/// statement that reads the policy's); `knownAt` / `asOf` fold the exact prefix from the log.
pub(crate) async fn read_household(
    api: &ApiContext,
    caller: &Caller,
    id: Uuid,
    at: StreamRead,
) -> Result<Dossier, ApiError> {
    let not_found = || ApiError::NotFound(format!("no household {id}"));
    let (folded, policy) = if at == StreamRead::default() {
        api.folds
            .household_now(id, caller.jurisdiction.province())
            .await?
            .ok_or_else(not_found)?
    } else {
        let loaded = api
            .exec
            .load::<Household>(&StreamId::Household(id), at)
            .await?;
        let ledger = loaded.events.first().map(|e| e.ledger.clone());
        let folded = Arc::new(Folded {
            ledger: ledger.unwrap_or_default(),
            version: loaded.version,
            timeline: loaded
                .events
                .iter()
                .map(dossier::TimelineEntry::from)
                .collect(),
            state: loaded.state,
        });
        let policy = match province_of(&folded.state) {
            Some(p) => api.folds.policy(p).await?,
            None => Arc::default(),
        };
        (folded, policy)
    };
    let Some(reg) = folded.state.registration.as_ref() else {
        return Err(not_found());
    };
    let visible = match caller.role {
        Role::SpotChecker => crate::spot_check::in_granted_sample(api, caller, id).await?,
        _ => caller.covers(reg.village.as_str()),
    };
    if !visible {
        return Err(not_found());
    }
    let as_of = at.known_at.or(at.as_of).unwrap_or_else(Utc::now);
    Ok(Dossier::new(id, folded, policy, as_of))
}

/// The business time of a command: the device's `occurredAt`, or now.
pub(crate) fn business_time(occurred_at: Option<DateTime<Utc>>) -> Result<DateTime<Utc>, ApiError> {
    let now = Utc::now();
    match occurred_at {
        Some(t) if t > now + chrono::Duration::minutes(CLOCK_SKEW_MINUTES) => Err(
            ApiError::bad_input("occurredAt", "business time is in the future"),
        ),
        Some(t) => Ok(t),
        None => Ok(now),
    }
}

pub(crate) fn domain_actor(caller: &Caller) -> Actor {
    Actor::new(caller.user_id, caller.role, caller.jurisdiction.clone())
}

/// What a conversion from input to step may need besides the input.
pub struct InputCtx<'a> {
    pub pii: &'a PiiKeys,
    /// The server's China date, against which ID numbers are validated.
    pub today: NaiveDate,
}

/// Runs one household mutation and answers with the updated file: the business time from
/// `occurredAt`, the step from `conv`, the province's policy, the command's idempotency from its
/// id and input.
pub(crate) async fn run_household<I: HouseholdInput>(
    ctx: &Context<'_>,
    mutation: &str,
    input: &I,
    conv: impl FnOnce(&I, &InputCtx) -> Result<HouseholdCommand, ApiError>,
) -> Result<HouseholdPayload, ApiError> {
    let caller = caller(ctx)?;
    let api = api(ctx);
    let at = business_time(input.occurred_at())?;
    let body = conv(
        input,
        &InputCtx {
            pii: &api.pii,
            today: china_date(Utc::now()),
        },
    )?;
    let (household_id, stream) = match (&body, input.household_id()) {
        (HouseholdCommand::RegisterHousehold(r), _) => (
            r.household_id,
            StreamRef::in_county(StreamId::Household(r.household_id), &county_of(&r.village)?)?,
        ),
        (_, Some(id)) => (
            id,
            api.exec
                .existing(StreamId::Household(id), &format!("household {id}"))
                .await?,
        ),
        (_, None) => return Err(ApiError::internal("a household step names its household")),
    };
    let meta = CommandMeta::new(input.command_id(), input, mutation);
    let policy = api.folds.policy(&stream.province()).await?;
    let command = Command::new(domain_actor(caller), at, body).under(policy.state.clone());
    let appended = api
        .exec
        .execute::<Household, _>(&stream, &meta, |_| Ok(command.clone()))
        .await?;
    let household = read_household(api, caller, household_id, StreamRead::default()).await?;
    Ok(HouseholdPayload::new(household, &appended))
}

impl HouseholdPayload {
    fn new(household: Dossier, appended: &Appended) -> Self {
        Self {
            household,
            position: Position::from(appended),
            duplicate: appended.duplicate,
        }
    }
}

/// Parses a region-code input.
pub(crate) fn region(field: &str, value: &str) -> Result<RegionCode, ApiError> {
    RegionCode::parse(value).map_err(|e| ApiError::bad_input(field, e.to_string()))
}

#[derive(Default)]
pub struct HouseholdQuery;

#[Object]
impl HouseholdQuery {
    /// 一户一档 — one household's file. With `knownAt`: as the system knew it then (events
    /// recorded up to that instant). With `asOf`: as it was then (events whose business time is
    /// up to that instant).
    async fn household(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        known_at: Option<DateTime<Utc>>,
        as_of: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Dossier> {
        let caller = caller(ctx)?;
        Ok(read_household(
            api(ctx),
            caller,
            id,
            StreamRead {
                after_version: 0,
                known_at,
                as_of,
            },
        )
        .await?)
    }

    /// The household(s) of a person, found by the keyed hash of their ID number (the number is
    /// never stored or searched in the clear). Only within the caller's jurisdiction.
    async fn household_by_id_number(
        &self,
        ctx: &Context<'_>,
        id_number: String,
    ) -> async_graphql::Result<Vec<Dossier>> {
        let caller = caller(ctx)?;
        if caller.role == Role::SpotChecker {
            return Err(ApiError::Forbidden("spot-checkers see their samples only".into()).into());
        }
        let api = api(ctx);
        let id = dixian_domain::IdNumber::parse(id_number.trim())
            .map_err(|e| ApiError::bad_input("idNumber", e.to_string()))?;
        let hash = api.pii.lookup_hash(id.expose());
        let ids = dixian_projections::casework::queries::households_of_person(
            &api.pool,
            &hash,
            caller.jurisdiction.as_str(),
        )
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(read_household(api, caller, id, StreamRead::default()).await?);
        }
        Ok(out)
    }

    /// Whether a household may leave monitoring now (or on `asOf`), with every failing reason.
    async fn removal_eligibility(
        &self,
        ctx: &Context<'_>,
        household_id: Uuid,
        as_of: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<dossier::RemovalEligibility> {
        let caller = caller(ctx)?;
        let d = read_household(api(ctx), caller, household_id, StreamRead::default()).await?;
        let day = china_date(as_of.unwrap_or_else(Utc::now));
        Ok(dossier::eligibility(&d.folded.state, &d.policy.state, day))
    }
}
