//! The schema: roots, shared context and the protective limits.

use async_graphql::{Context, EmptySubscription, MergedObject, Schema};
use dixian_commands::{Executor, Reactors};
use dixian_projections::Runner;
use dixian_store::{AnchorKey, EventStore};
use sqlx::PgPool;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::household::HouseholdQuery;
use crate::household::mutations::{BatchMutation, HouseholdMutation};
use crate::ledger::{LedgerMutation, LedgerQuery};
use crate::pii::PiiKeys;
use crate::vocab::Vocabulary;

/// Everything resolvers need, shared by all requests.
#[derive(Clone)]
pub struct ApiContext {
    pub store: EventStore,
    /// Runs commands against the log (decide, append, idempotency, retries).
    pub exec: Executor,
    /// The reactors, for requests that wait on a reaction and for their stuck list.
    pub reactors: Reactors,
    pub runner: Runner,
    pub pool: PgPool,
    pub anchor_key: Option<AnchorKey>,
    pub pii: PiiKeys,
    /// Folded streams, checked against the log on every read (see `fold_cache`).
    pub folds: std::sync::Arc<crate::fold_cache::Folds>,
}

#[derive(MergedObject, Default)]
pub struct Query(
    LedgerQuery,
    HouseholdQuery,
    VocabularyQuery,
    crate::user::UserQuery,
    crate::alert::AlertQuery,
    crate::region::RegionQuery,
    crate::lists::ListQuery,
    crate::spot_check::SpotCheckQuery,
    crate::policy::PolicyQuery,
    crate::reactions::ReactionQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    LedgerMutation,
    HouseholdMutation,
    BatchMutation,
    crate::user::UserMutation,
    crate::alert::AlertMutation,
    crate::region::RegionMutation,
    crate::spot_check::SpotCheckMutation,
    crate::policy::PolicyMutation,
);

pub type ApiSchema = Schema<Query, Mutation, EmptySubscription>;

/// Limits that keep one request from taking the server down.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub depth: usize,
    pub complexity: usize,
    /// Introspection and field suggestions help developers and attackers alike; production
    /// turns them off.
    pub introspection: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: 12,
            complexity: 5000,
            introspection: true,
        }
    }
}

pub fn build_schema(ctx: ApiContext, limits: Limits) -> ApiSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .data(crate::lists::region_loader(ctx.clone()))
        .data(ctx)
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .limit_recursive_depth(32)
        .limit_directives(8);
    if !limits.introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The caller of this request, or `UNAUTHENTICATED`.
pub(crate) fn caller<'a>(ctx: &'a Context<'_>) -> Result<&'a Caller, ApiError> {
    match ctx.data_opt::<Result<Caller, ApiError>>() {
        Some(Ok(c)) => Ok(c),
        _ => Err(ApiError::Unauthenticated),
    }
}

pub(crate) fn api<'a>(ctx: &'a Context<'_>) -> &'a ApiContext {
    ctx.data_unchecked::<ApiContext>()
}

#[derive(Default)]
pub struct VocabularyQuery;

#[async_graphql::Object]
impl VocabularyQuery {
    /// Every code list with its Chinese labels.
    async fn vocabulary(&self) -> Vocabulary {
        Vocabulary
    }
}
