//! Users over GraphQL: `me`, registering users, roles, cadre assignments, deactivation. A
//! bearer token names a user; what the user may do is the fold of their `user-<uuid>` stream,
//! checked on every request, so a role change or a deactivation takes effect at once.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use dixian_commands::{CommandMeta, StreamRef};
use dixian_domain::user::{
    AssignCadre, ChangeRole, DeactivateUser, RegisterUser, UnassignCadre, User, UserCommand,
    UserState,
};
use dixian_domain::{Command, RegionCode, StreamId};
use dixian_store::Appended;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::household::{Position, business_time, domain_actor, region};
use crate::schema::{ApiContext, api, caller};
use crate::vocab::{CadreScope, CadreScopeLabel, Labelled, Role, RoleLabel};

/// A user as the log says they are now.
#[derive(SimpleObject)]
pub struct UserView {
    pub id: Uuid,
    pub name: String,
    pub role: RoleLabel,
    /// Region-code prefix the user works in.
    pub jurisdiction: String,
    pub active: bool,
    /// Cadre assignments (包户/包村/包片): scope and target.
    pub assignments: Vec<Assignment>,
}

#[derive(SimpleObject)]
pub struct Assignment {
    pub scope: CadreScopeLabel,
    pub target: String,
}

impl UserView {
    fn from(state: &UserState) -> Option<Self> {
        Some(Self {
            id: state.user_id?,
            name: state.name.clone(),
            role: state.role?.label(),
            jurisdiction: state.jurisdiction.as_ref()?.as_str().to_owned(),
            active: state.active,
            assignments: state
                .assignments
                .iter()
                .map(|(s, t)| Assignment {
                    scope: s.label(),
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
pub(crate) async fn user_stream(
    api: &ApiContext,
    id: Uuid,
    jurisdiction: Option<&RegionCode>,
) -> Result<StreamRef, ApiError> {
    let stream = StreamId::User(id);
    if let Some(ledger) = api.exec.ledger_of(&stream).await? {
        return Ok(StreamRef { id: stream, ledger });
    }
    match jurisdiction {
        Some(j) => Ok(StreamRef::user(id, j)?),
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
    role: dixian_domain::Role,
    jurisdiction: &RegionCode,
) -> Result<UserPayload, ApiError> {
    let stream = user_stream(api, user_id, Some(jurisdiction)).await?;
    let meta = CommandMeta::new(
        command_id,
        &(user_id, name, role.code(), jurisdiction.as_str()),
        "registerUser",
    );
    let body = RegisterUser {
        user_id,
        name: name.to_owned(),
        role,
        jurisdiction: jurisdiction.clone(),
    };
    let appended = execute(api, actor_caller, &stream, &meta, body).await?;
    payload(api, user_id, &appended).await
}

async fn execute(
    api: &ApiContext,
    caller: &Caller,
    stream: &StreamRef,
    meta: &CommandMeta,
    body: impl Into<UserCommand>,
) -> Result<Appended, ApiError> {
    let command = Command::new(domain_actor(caller), business_time(None)?, body);
    Ok(api
        .exec
        .execute::<User, _>(stream, meta, |_| Ok(command.clone()))
        .await?)
}

async fn payload(
    api: &ApiContext,
    user_id: Uuid,
    appended: &Appended,
) -> Result<UserPayload, ApiError> {
    let state = load_user(api, user_id).await?;
    Ok(UserPayload {
        user: UserView::from(&state)
            .ok_or_else(|| ApiError::NotFound(format!("no user {user_id}")))?,
        position: Position::from(appended),
        duplicate: appended.duplicate,
    })
}

/// Runs one command on an existing user's stream.
async fn run(
    ctx: &Context<'_>,
    mutation: &str,
    user_id: Uuid,
    command_id: Uuid,
    input: &impl Serialize,
    body: impl Into<UserCommand>,
) -> Result<UserPayload, ApiError> {
    let (caller, api) = (caller(ctx)?, api(ctx));
    let stream = user_stream(api, user_id, None).await?;
    let meta = CommandMeta::new(command_id, input, mutation);
    let appended = execute(api, caller, &stream, &meta, body).await?;
    payload(api, user_id, &appended).await
}

#[derive(InputObject, Serialize)]
pub struct RegisterUserInput {
    pub command_id: Uuid,
    pub user_id: Option<Uuid>,
    pub name: String,
    pub role: Role,
    /// Region-code prefix.
    pub jurisdiction: String,
}

#[derive(InputObject, Serialize)]
pub struct ChangeRoleInput {
    pub command_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub jurisdiction: String,
    pub reason: String,
}

#[derive(InputObject, Serialize)]
pub struct CadreAssignmentInput {
    pub command_id: Uuid,
    pub user_id: Uuid,
    /// HOUSEHOLD (包户), VILLAGE (包村) or AREA (包片).
    pub scope: CadreScope,
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
        use dixian_domain::Role as R;
        caller.require_role(
            &[R::CountyOfficer, R::TownshipOfficer, R::Auditor],
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
        let jurisdiction = region("jurisdiction", &input.jurisdiction)?;
        let user_id = input.user_id.unwrap_or(input.command_id);
        Ok(register_user(
            api(ctx),
            caller,
            input.command_id,
            user_id,
            &input.name,
            input.role.into(),
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
        let body = ChangeRole {
            role: input.role.into(),
            jurisdiction: region("jurisdiction", &input.jurisdiction)?,
            reason: input.reason.clone(),
        };
        let (user, command) = (input.user_id, input.command_id);
        Ok(run(ctx, "changeRole", user, command, &input, body).await?)
    }

    /// Assign a cadre (包建干部) to a household, village or area (township officers).
    async fn assign_cadre(
        &self,
        ctx: &Context<'_>,
        input: CadreAssignmentInput,
    ) -> async_graphql::Result<UserPayload> {
        let body = AssignCadre {
            scope: input.scope.into(),
            target: input.target.clone(),
            region: region("region", &input.region)?,
        };
        let (user, command) = (input.user_id, input.command_id);
        Ok(run(ctx, "assignCadre", user, command, &input, body).await?)
    }

    async fn unassign_cadre(
        &self,
        ctx: &Context<'_>,
        input: CadreAssignmentInput,
    ) -> async_graphql::Result<UserPayload> {
        let body = UnassignCadre {
            scope: input.scope.into(),
            target: input.target.clone(),
            region: region("region", &input.region)?,
        };
        let (user, command) = (input.user_id, input.command_id);
        Ok(run(ctx, "unassignCadre", user, command, &input, body).await?)
    }

    /// Deactivate a user: every token of theirs stops working at once.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        input: DeactivateUserInput,
    ) -> async_graphql::Result<UserPayload> {
        let body = DeactivateUser {
            reason: input.reason.clone(),
        };
        let (user, command) = (input.user_id, input.command_id);
        Ok(run(ctx, "deactivateUser", user, command, &input, body).await?)
    }
}

/// The system's own caller for bootstrap (the CLI registering the first county officer):
/// recorded in the log as the nil user acting as county officer of that county.
pub fn system_caller(jurisdiction: &RegionCode) -> Caller {
    use dixian_domain::Role;
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
