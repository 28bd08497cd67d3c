//! Users over GraphQL: `me`, registering users, roles, cadre assignments, deactivation. A
//! bearer token names a user; what the user may do is the fold of their `user-<uuid>` stream,
//! checked on every request, so a role change or a deactivation takes effect at once.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use dixian_domain::user::{CadreScope, User, UserCommand, UserState};
use dixian_domain::{RegionCode, Role};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::exec::{self, CommandMeta, StreamRef};
use crate::household::{Position, business_time, domain_actor, region};
use crate::schema::{ApiContext, api, caller};
use crate::vocab::{Coded, Vocab, parse};

/// A user as the log says they are now.
#[derive(SimpleObject)]
pub struct UserView {
    pub id: Uuid,
    pub name: String,
    pub role: Coded,
    /// Region-code prefix the user works in.
    pub jurisdiction: String,
    pub active: bool,
    /// Cadre assignments (包户/包村/包片): scope and target.
    pub assignments: Vec<Assignment>,
}

#[derive(SimpleObject)]
pub struct Assignment {
    pub scope: Coded,
    pub target: String,
}

impl UserView {
    fn from(state: &UserState) -> Option<Self> {
        Some(Self {
            id: state.user_id?,
            name: state.name.clone(),
            role: state.role?.coded(),
            jurisdiction: state.jurisdiction.as_ref()?.as_str().to_owned(),
            active: state.active,
            assignments: state
                .assignments
                .iter()
                .map(|(s, t)| Assignment {
                    scope: s.coded(),
                    target: t.clone(),
                })
                .collect(),
        })
    }
}

#[derive(SimpleObject)]
pub struct UserPayload {
    pub user: UserView,
    pub position: Position,
    pub duplicate: bool,
}

/// Where a user's stream lives: found in the log, or (for a new user) from the jurisdiction.
async fn user_stream(
    api: &ApiContext,
    id: Uuid,
    jurisdiction: Option<&RegionCode>,
) -> Result<StreamRef, ApiError> {
    let mut conn = api.pool.acquire().await?;
    if let Some((ledger, _)) =
        dixian_store::read::stream_version(&mut conn, &format!("user-{id}")).await?
    {
        return Ok(StreamRef {
            id: format!("user-{id}"),
            stream_type: "user",
            ledger: dixian_store::LedgerId::parse(&ledger).map_err(ApiError::from)?,
        });
    }
    match jurisdiction {
        Some(j) => StreamRef::user(id, j),
        None => Err(ApiError::NotFound(format!("no user {id}"))),
    }
}

/// The user's current state, from the log (through the fold cache, checked against the
/// stream's current version, so a change is seen by the next read).
pub async fn load_user(api: &ApiContext, id: Uuid) -> Result<UserState, ApiError> {
    Ok(api
        .folds
        .user(id)
        .await?
        .map(|f| f.state.clone())
        .unwrap_or_default())
}

/// Checks that a token's claims still hold: the user exists, is active, and has that role and
/// jurisdiction now. A revoked or changed user's old tokens stop working at once.
pub async fn confirm_caller(api: &ApiContext, claimed: Caller) -> Result<Caller, ApiError> {
    let Some(user) = api.folds.user(claimed.user_id).await? else {
        return Err(ApiError::Unauthenticated);
    };
    let state = &user.state;
    let holds = state.active
        && state.role == Some(claimed.role)
        && state.jurisdiction.as_ref() == Some(&claimed.jurisdiction);
    if holds {
        Ok(claimed)
    } else {
        Err(ApiError::Unauthenticated)
    }
}

/// Registers a user as a given actor (the API's mutation, the CLI's bootstrap and the demo).
pub async fn register_user(
    api: &ApiContext,
    actor_caller: &Caller,
    command_id: Uuid,
    user_id: Uuid,
    name: &str,
    role: Role,
    jurisdiction: &RegionCode,
) -> Result<UserPayload, ApiError> {
    let stream = user_stream(api, user_id, Some(jurisdiction)).await?;
    let meta = CommandMeta::new(
        command_id,
        &(user_id, name, role.code(), jurisdiction.as_str()),
        "registerUser",
    );
    let actor = domain_actor(actor_caller);
    let at = Utc::now();
    let executed = exec::execute::<User, _>(api, actor_caller, &stream, &meta, |_| {
        Ok(UserCommand::RegisterUser {
            actor: actor.clone(),
            at,
            user_id,
            name: name.to_owned(),
            role,
            jurisdiction: jurisdiction.clone(),
        })
    })
    .await?;
    payload(api, user_id, &executed).await
}

async fn payload(
    api: &ApiContext,
    user_id: Uuid,
    executed: &exec::Executed,
) -> Result<UserPayload, ApiError> {
    let state = load_user(api, user_id).await?;
    Ok(UserPayload {
        user: UserView::from(&state)
            .ok_or_else(|| ApiError::NotFound(format!("no user {user_id}")))?,
        position: Position::from(&executed.appended),
        duplicate: executed.appended.duplicate,
    })
}

async fn run(
    ctx: &Context<'_>,
    mutation: &str,
    user_id: Uuid,
    command_id: Uuid,
    input: &impl Serialize,
    build: impl Fn(dixian_domain::Actor, DateTime<Utc>) -> Result<UserCommand, ApiError>,
) -> Result<UserPayload, ApiError> {
    let caller = caller(ctx)?;
    let api = api(ctx);
    let stream = user_stream(api, user_id, None).await?;
    let meta = CommandMeta::new(command_id, input, mutation);
    let actor = domain_actor(caller);
    let at = business_time(None)?;
    let executed =
        exec::execute::<User, _>(api, caller, &stream, &meta, |_| build(actor.clone(), at)).await?;
    payload(api, user_id, &executed).await
}

#[derive(InputObject, Serialize)]
pub struct RegisterUserInput {
    pub command_id: Uuid,
    pub user_id: Option<Uuid>,
    pub name: String,
    /// GRID_WORKER, VILLAGE_SECRETARY, CADRE, TOWNSHIP_OFFICER, COUNTY_OFFICER, AUDITOR, SPOT_CHECKER.
    pub role: String,
    /// Region-code prefix.
    pub jurisdiction: String,
}

#[derive(InputObject, Serialize)]
pub struct ChangeRoleInput {
    pub command_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub jurisdiction: String,
    pub reason: String,
}

#[derive(InputObject, Serialize)]
pub struct CadreAssignmentInput {
    pub command_id: Uuid,
    pub user_id: Uuid,
    /// HOUSEHOLD (包户), VILLAGE (包村) or AREA (包片).
    pub scope: String,
    /// A household id or a region code.
    pub target: String,
    /// The region the assignment is in (the household's village, or the village/area itself).
    pub region: String,
}

#[derive(InputObject, Serialize)]
pub struct DeactivateUserInput {
    pub command_id: Uuid,
    pub user_id: Uuid,
    pub reason: String,
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The caller.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<UserView> {
        let caller = caller(ctx)?;
        let state = load_user(api(ctx), caller.user_id).await?;
        Ok(UserView::from(&state).ok_or(ApiError::Unauthenticated)?)
    }

    /// A user in the caller's jurisdiction (county officers and auditors).
    async fn user(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<UserView> {
        let caller = caller(ctx)?;
        caller.require_role(
            &[Role::CountyOfficer, Role::TownshipOfficer, Role::Auditor],
            "read users",
        )?;
        let state = load_user(api(ctx), id).await?;
        match UserView::from(&state) {
            Some(u) if caller.covers(&u.jurisdiction) => Ok(u),
            _ => Err(ApiError::NotFound(format!("no user {id}")).into()),
        }
    }
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Register a user with a role and jurisdiction (county officers, within their county).
    async fn register_user(
        &self,
        ctx: &Context<'_>,
        input: RegisterUserInput,
    ) -> async_graphql::Result<UserPayload> {
        let caller = caller(ctx)?;
        let role = parse("role", &input.role)?;
        let jurisdiction = region("jurisdiction", &input.jurisdiction)?;
        let user_id = input.user_id.unwrap_or(input.command_id);
        Ok(register_user(
            api(ctx),
            caller,
            input.command_id,
            user_id,
            &input.name,
            role,
            &jurisdiction,
        )
        .await?)
    }

    /// Change a user's role and jurisdiction.
    async fn change_role(
        &self,
        ctx: &Context<'_>,
        input: ChangeRoleInput,
    ) -> async_graphql::Result<UserPayload> {
        let role = parse("role", &input.role)?;
        let jurisdiction = region("jurisdiction", &input.jurisdiction)?;
        Ok(run(
            ctx,
            "changeRole",
            input.user_id,
            input.command_id,
            &input,
            |actor, at| {
                Ok(UserCommand::ChangeRole {
                    actor,
                    at,
                    role,
                    jurisdiction: jurisdiction.clone(),
                    reason: input.reason.clone(),
                })
            },
        )
        .await?)
    }

    /// Assign a cadre (包建干部) to a household, village or area (township officers).
    async fn assign_cadre(
        &self,
        ctx: &Context<'_>,
        input: CadreAssignmentInput,
    ) -> async_graphql::Result<UserPayload> {
        let scope: CadreScope = parse("scope", &input.scope)?;
        let region_code = region("region", &input.region)?;
        Ok(run(
            ctx,
            "assignCadre",
            input.user_id,
            input.command_id,
            &input,
            |actor, at| {
                Ok(UserCommand::AssignCadre {
                    actor,
                    at,
                    scope,
                    target: input.target.clone(),
                    region: region_code.clone(),
                })
            },
        )
        .await?)
    }

    async fn unassign_cadre(
        &self,
        ctx: &Context<'_>,
        input: CadreAssignmentInput,
    ) -> async_graphql::Result<UserPayload> {
        let scope: CadreScope = parse("scope", &input.scope)?;
        let region_code = region("region", &input.region)?;
        Ok(run(
            ctx,
            "unassignCadre",
            input.user_id,
            input.command_id,
            &input,
            |actor, at| {
                Ok(UserCommand::UnassignCadre {
                    actor,
                    at,
                    scope,
                    target: input.target.clone(),
                    region: region_code.clone(),
                })
            },
        )
        .await?)
    }

    /// Deactivate a user: every token of theirs stops working at once.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        input: DeactivateUserInput,
    ) -> async_graphql::Result<UserPayload> {
        Ok(run(
            ctx,
            "deactivateUser",
            input.user_id,
            input.command_id,
            &input,
            |actor, at| {
                Ok(UserCommand::DeactivateUser {
                    actor,
                    at,
                    reason: input.reason.clone(),
                })
            },
        )
        .await?)
    }
}

/// The system's own caller for bootstrap (the CLI registering the first county officer):
/// recorded in the log as the nil user acting as county officer of that county.
pub fn system_caller(jurisdiction: &RegionCode) -> Caller {
    let county = jurisdiction
        .county()
        .and_then(|c| RegionCode::parse(&c).ok())
        .unwrap_or_else(|| {
            RegionCode::parse(jurisdiction.province()).unwrap_or_else(|_| jurisdiction.clone())
        });
    Caller {
        user_id: Uuid::nil(),
        role: Role::CountyOfficer,
        jurisdiction: county,
    }
}
