//! Policy as configuration with effective dates, over GraphQL: the rules and monitoring lines of
//! a province (stream `policy-<province>`), and the county bureau's commands that set them.
//! Shandong's defaults are installed at start-up when a province has no policy yet.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{NaiveDate, Utc};
use dixian_commands::exec::append_request;
use dixian_commands::{CommandError, CommandMeta, StreamRef};
use dixian_domain::policy::{Policy, PolicyRules, SHANDONG, SetMonitoringLine, shandong_defaults};
use dixian_domain::{Actor, Command, RegionCode, Role, china_date};
use dixian_store::ExpectedVersion;
use serde::Serialize;
use uuid::Uuid;

use crate::error::ApiError;
use crate::household::{Position, business_time, domain_actor, region};
use crate::schema::{ApiContext, api, caller};

/// Installs Shandong's default policy if the province has none (idempotent: the command id is
/// fixed, so a second start appends nothing). Returns whether anything was written.
pub async fn ensure_shandong_defaults(api: &ApiContext) -> Result<bool, ApiError> {
    let stream = StreamRef::policy(SHANDONG)?;
    api.store.open_ledger(&stream.ledger).await?;
    let loaded = api
        .exec
        .load::<Policy>(&stream.id, Default::default())
        .await?;
    if loaded.version > 0 {
        return Ok(false);
    }
    let system = Actor::new(
        Uuid::nil(),
        Role::CountyOfficer,
        RegionCode::parse(SHANDONG).map_err(|e| ApiError::internal(e.to_string()))?,
    );
    let events = shandong_defaults(&system, Utc::now());
    let meta = CommandMeta {
        // A fixed id: "install the Shandong defaults" is one command, once.
        command_id: Uuid::from_u128(0x0d1c_5eed_0037_0000_0000_0000_0000_0001),
        fingerprint: dixian_store::hash::sha256(b"dixian-shandong-defaults-v1"),
        correlation_id: None,
        causation_id: None,
    };
    let request = append_request(&system, &stream, &meta, ExpectedVersion::NoStream, &events)?;
    match api.store.append(request).await {
        Ok(a) => Ok(!a.duplicate),
        // Another process installed them at the same moment.
        Err(dixian_store::AppendError::Conflict { .. }) => Ok(false),
        Err(e) => Err(CommandError::from(e).into()),
    }
}

/// The rules in force on a date.
#[derive(SimpleObject)]
pub struct PolicyView {
    pub province: String,
    pub date: NaiveDate,
    /// The monitoring line (监测线) in force, yuan per person per year, in fen.
    pub monitoring_line_fen: Option<i64>,
    pub identification_deadline_days: i32,
    pub public_notice_min_days: i32,
    pub alert_first_round_days: i32,
    pub alert_second_round_days: i32,
    pub removal_min_months_monitored: i32,
    pub removal_min_months_income_above_line: i32,
    pub green_channel_backfill_days: i32,
    pub home_verification_min_people: i32,
}

#[derive(InputObject, Serialize)]
pub struct SetMonitoringLineInput {
    pub command_id: Uuid,
    /// 2-digit province code.
    pub province: String,
    pub year: i32,
    /// Per person per year, in fen.
    pub amount_fen: i64,
    pub effective_from: NaiveDate,
    /// The document that sets it.
    pub basis: String,
}

#[derive(Default)]
pub struct PolicyQuery;

#[Object]
impl PolicyQuery {
    /// The rules and monitoring line of a province in force on a date (default today).
    async fn policy(
        &self,
        ctx: &Context<'_>,
        province: String,
        date: Option<NaiveDate>,
    ) -> async_graphql::Result<PolicyView> {
        caller(ctx)?;
        region("province", &province)?;
        let book = api(ctx).folds.policy(&province).await?;
        let date = date.unwrap_or_else(|| china_date(Utc::now()));
        let r: PolicyRules = book.state.rules_in_force(date);
        let n = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        Ok(PolicyView {
            province,
            date,
            monitoring_line_fen: book.state.monitoring_line(date),
            identification_deadline_days: n(r.identification_deadline_days),
            public_notice_min_days: n(r.public_notice_min_days),
            alert_first_round_days: n(r.alert_first_round_days),
            alert_second_round_days: n(r.alert_second_round_days),
            removal_min_months_monitored: n(r.removal_min_months_monitored),
            removal_min_months_income_above_line: n(r.removal_min_months_income_above_line),
            green_channel_backfill_days: n(r.green_channel_backfill_days),
            home_verification_min_people: n(r.home_verification_min_people),
        })
    }
}

#[derive(Default)]
pub struct PolicyMutation;

#[Object]
impl PolicyMutation {
    /// 监测线 — set a province's monitoring line from an effective date (county bureau with a
    /// jurisdiction in that province).
    async fn set_monitoring_line(
        &self,
        ctx: &Context<'_>,
        input: SetMonitoringLineInput,
    ) -> async_graphql::Result<Position> {
        let caller = caller(ctx)?;
        let province = region("province", &input.province)?;
        let stream = StreamRef::policy(province.as_str()).map_err(ApiError::from)?;
        let meta = CommandMeta::new(input.command_id, &input, "setMonitoringLine");
        let command = Command::new(
            domain_actor(caller),
            business_time(None)?,
            SetMonitoringLine {
                province,
                year: input.year,
                amount_fen: input.amount_fen,
                effective_from: input.effective_from,
                basis: input.basis.clone(),
            },
        );
        let appended = api(ctx)
            .exec
            .execute::<Policy, _>(&stream, &meta, |_| Ok(command.clone()))
            .await
            .map_err(ApiError::from)?;
        Ok(Position::from(&appended))
    }
}
