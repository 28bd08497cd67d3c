//! What has stopped, for the county bureau: a reaction the domain refused is parked (and retried
//! when its stream moves), a reactor that cannot get past an event is blocked, and so is a
//! projection that cannot apply one (its lists stop moving in that ledger). Nothing is lost, but
//! a person should look — these lists are where.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use dixian_domain::Role;
use uuid::Uuid;

use crate::error::ApiError;
use crate::household::region;
use crate::schema::{api, caller};

/// One reaction that has not happened.
#[derive(SimpleObject)]
pub struct StuckReaction {
    pub reactor: String,
    pub ledger: String,
    /// The triggering event's position in the ledger.
    pub seq: i64,
    pub event_id: Option<Uuid>,
    pub event_type: Option<String>,
    pub stream_id: Option<String>,
    /// `BLOCKED` for a reactor waiting at the event, else the refusal's error code.
    pub error_code: String,
    /// The rule or field of the refusal.
    pub error_detail: Option<String>,
    pub error_message: String,
    pub attempts: i32,
    pub since: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<dixian_commands::reactor::Stuck> for StuckReaction {
    fn from(s: dixian_commands::reactor::Stuck) -> Self {
        Self {
            reactor: s.reactor,
            ledger: s.ledger,
            seq: s.seq,
            event_id: s.event_id,
            event_type: s.event_type,
            stream_id: s.stream_id,
            error_code: s.error_code,
            error_detail: s.error_detail,
            error_message: s.error_message,
            attempts: s.attempts,
            since: s.since,
            next_attempt_at: s.next_attempt_at,
        }
    }
}

/// A read model stopped at an event it cannot apply: the lists it feeds no longer move in that
/// ledger until the cause is fixed (it retries with backoff, one event at a time).
#[derive(SimpleObject)]
pub struct StuckProjection {
    pub projection: String,
    pub ledger: String,
    /// The position of the event it stops at.
    pub seq: i64,
    pub event_type: Option<String>,
    pub stream_id: Option<String>,
    pub error: String,
    pub attempts: i32,
    pub since: DateTime<Utc>,
}

#[derive(Default)]
pub struct ReactionQuery;

#[Object]
impl ReactionQuery {
    /// Reactions parked or blocked in the ledgers of a region (default: the caller's
    /// jurisdiction). County officers and auditors.
    async fn stuck_reactions(
        &self,
        ctx: &Context<'_>,
        region_code: Option<String>,
    ) -> async_graphql::Result<Vec<StuckReaction>> {
        let code = bureau_region(ctx, region_code)?;
        let stuck = api(ctx)
            .reactors
            .stuck(&code)
            .await
            .map_err(ApiError::from)?;
        Ok(stuck.into_iter().map(StuckReaction::from).collect())
    }

    /// Projections stopped at an event in the ledgers of a region (default: the caller's
    /// jurisdiction). County officers and auditors.
    async fn stuck_projections(
        &self,
        ctx: &Context<'_>,
        region_code: Option<String>,
    ) -> async_graphql::Result<Vec<StuckProjection>> {
        let code = bureau_region(ctx, region_code)?;
        let blocked = api(ctx)
            .runner
            .blocked(&code)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(blocked
            .into_iter()
            .map(|b| StuckProjection {
                projection: b.projection,
                ledger: b.ledger,
                seq: b.seq,
                event_type: b.event_type,
                stream_id: b.stream_id,
                error: b.error,
                attempts: b.attempts,
                since: b.since,
            })
            .collect())
    }
}

/// The region a county officer or auditor asks about (default: their jurisdiction).
fn bureau_region(ctx: &Context<'_>, region_code: Option<String>) -> Result<String, ApiError> {
    let caller = caller(ctx)?;
    if !matches!(caller.role, Role::CountyOfficer | Role::Auditor) {
        return Err(ApiError::Forbidden(
            "county officers and auditors only".into(),
        ));
    }
    let code = match region_code {
        Some(c) => region("regionCode", &c)?.as_str().to_owned(),
        None => caller.jurisdiction.as_str().to_owned(),
    };
    if !caller.covers(&code) {
        return Err(ApiError::Forbidden("outside your jurisdiction".into()));
    }
    Ok(code)
}
