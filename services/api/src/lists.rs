//! Lists for front ends and auditors: households (filters, Relay connections), the village
//! ledger (台账) of the three focus groups, the audit trail of any stream, and integrity checks
//! of a household's file. Lists read the `casework` read models; region names come through a
//! DataLoader (one query per county, never one per row).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::connection::{Connection, Edge, EmptyFields, query};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{ComplexObject, Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use dixian_domain::household::MonitoringStatus;
use dixian_domain::vocab::{Category, FocusGroup, RiskType};
use dixian_domain::{Role, china_date};
use dixian_store::{StreamRead, read, verify};
use sqlx::Row;
use uuid::Uuid;

use crate::error::ApiError;
use crate::ledger::Verification;
use crate::schema::{ApiContext, api, caller};
use crate::vocab::{Coded, Vocab, parse};

/// Most rows a page may hold.
pub const MAX_PAGE: usize = 100;

/// Region names by code, loaded per county.
pub struct RegionNames(pub ApiContext);

impl Loader<String> for RegionNames {
    type Value = String;
    type Error = Arc<ApiError>;

    async fn load(&self, codes: &[String]) -> Result<HashMap<String, String>, Self::Error> {
        let mut counties: Vec<&str> = codes.iter().filter_map(|c| c.get(..6)).collect();
        counties.sort_unstable();
        counties.dedup();
        let mut out = HashMap::new();
        for county in counties {
            let tree = crate::region::tree(&self.0, county)
                .await
                .map_err(Arc::new)?;
            for code in codes.iter().filter(|c| c.starts_with(county)) {
                if let Some(name) = tree.regions.get(code) {
                    out.insert(code.clone(), name.clone());
                }
            }
        }
        Ok(out)
    }
}

pub fn region_loader(api: ApiContext) -> DataLoader<RegionNames> {
    DataLoader::new(RegionNames(api), tokio::spawn)
}

fn coded_from<T: Vocab>(code: &str) -> Coded {
    T::ALL
        .iter()
        .find(|v| v.code() == code)
        .map(Vocab::coded)
        .unwrap_or_else(|| Coded::new(code, code))
}

/// One household in a list (from the case-state read model).
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct HouseholdSummary {
    pub id: Uuid,
    pub village: String,
    pub grid: Option<String>,
    pub head_name: String,
    pub status: Coded,
    pub episode: i32,
    pub category: Option<Coded>,
    pub risk_types: Vec<Coded>,
    pub focus_groups: Vec<Coded>,
    pub resident_members: i32,
    /// The earliest open deadline (identification, green-channel back-fill).
    pub next_deadline: Option<NaiveDate>,
    pub overdue: bool,
    pub measures: i32,
    pub open_alerts: i32,
    pub last_visit_at: Option<DateTime<Utc>>,
    pub last_income_month: Option<String>,
    pub last_income_per_capita_fen: Option<i64>,
    pub approved_at: Option<DateTime<Utc>>,
    pub removed_at: Option<DateTime<Utc>>,
}

#[ComplexObject]
impl HouseholdSummary {
    /// The village's name (loaded in one batch for the whole page).
    async fn village_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let loader = ctx.data_unchecked::<DataLoader<RegionNames>>();
        Ok(loader
            .load_one(self.village.clone())
            .await
            .map_err(|e| e.message())?)
    }
}

fn summary(r: &sqlx::postgres::PgRow, today: NaiveDate) -> Result<HouseholdSummary, sqlx::Error> {
    let next_deadline: Option<NaiveDate> = r.try_get("next_deadline")?;
    let status: String = r.try_get("status")?;
    let category: Option<String> = r.try_get("category")?;
    let risks: Vec<String> = r.try_get("risk_types")?;
    let groups: Vec<String> = r.try_get("focus_groups")?;
    Ok(HouseholdSummary {
        id: r.try_get("household_id")?,
        village: r.try_get("village")?,
        grid: r.try_get("grid")?,
        head_name: r.try_get("head_name")?,
        overdue: status == MonitoringStatus::Identifying.code()
            && next_deadline.is_some_and(|d| d < today),
        status: coded_from::<MonitoringStatus>(&status),
        episode: r.try_get("episode")?,
        category: category.as_deref().map(coded_from::<Category>),
        risk_types: risks.iter().map(|c| coded_from::<RiskType>(c)).collect(),
        focus_groups: groups.iter().map(|c| coded_from::<FocusGroup>(c)).collect(),
        resident_members: r.try_get("resident_members")?,
        next_deadline,
        measures: r.try_get("measures")?,
        open_alerts: r.try_get("open_alerts")?,
        last_visit_at: r.try_get("last_visit_at")?,
        last_income_month: r.try_get("last_income_month")?,
        last_income_per_capita_fen: r.try_get("last_income_per_capita_fen")?,
        approved_at: r.try_get("approved_at")?,
        removed_at: r.try_get("removed_at")?,
    })
}

/// Filters of the household list; all optional and combined with AND.
#[derive(InputObject, Default)]
pub struct HouseholdFilter {
    /// A region-code prefix inside the caller's jurisdiction (default: the jurisdiction).
    pub region: Option<String>,
    pub focus_group: Option<String>,
    pub status: Option<String>,
    pub category: Option<String>,
    pub risk_type: Option<String>,
    /// Only households past an open deadline.
    pub overdue: Option<bool>,
}

/// The caller's effective region prefix: the asked region if inside the jurisdiction.
fn scope(caller: &crate::auth::Caller, region: Option<&str>) -> Result<String, ApiError> {
    match region {
        None => Ok(caller.jurisdiction.as_str().to_owned()),
        Some(r) => {
            crate::region::parse_region("filter.region", r)?;
            caller.require_covers(r)?;
            Ok(r.to_owned())
        }
    }
}

#[derive(Default)]
pub struct ListQuery;

#[Object]
impl ListQuery {
    /// Households in the caller's jurisdiction (spot-checkers: their granted samples), newest
    /// ids last, as a Relay connection (`first` ≤ 100).
    async fn households(
        &self,
        ctx: &Context<'_>,
        filter: Option<HouseholdFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, HouseholdSummary, EmptyFields, EmptyFields>> {
        let caller = caller(ctx)?.clone();
        let api = api(ctx).clone();
        let filter = filter.unwrap_or_default();
        let prefix = scope(&caller, filter.region.as_deref())?;
        let status = filter
            .status
            .as_deref()
            .map(|s| parse::<MonitoringStatus>("filter.status", s))
            .transpose()?;
        let group = filter
            .focus_group
            .as_deref()
            .map(|s| parse::<FocusGroup>("filter.focusGroup", s))
            .transpose()?;
        let category = filter
            .category
            .as_deref()
            .map(|s| parse::<Category>("filter.category", s))
            .transpose()?;
        let risk = filter
            .risk_type
            .as_deref()
            .map(|s| parse::<RiskType>("filter.riskType", s))
            .transpose()?;
        let samples = if caller.role == Role::SpotChecker {
            Some(crate::spot_check::granted_households(&api, &caller).await?)
        } else {
            None
        };
        let today = china_date(Utc::now());
        query(
            after,
            None,
            first,
            None,
            |after: Option<String>, _before: Option<String>, first, _last| async move {
                let limit = first.unwrap_or(20).min(MAX_PAGE);
                let after_id =
                    match after {
                        Some(a) => Some(Uuid::parse_str(&a).map_err(|_| {
                            ApiError::bad_input("after", "not a cursor of this list")
                        })?),
                        None => None,
                    };
                let rows = sqlx::query(
                    "select * from casework.household_case
                  where village like $1 || '%'
                    and ($2::text is null or status = $2)
                    and ($3::text is null or $3 = any(focus_groups))
                    and ($4::text is null or category = $4)
                    and ($5::text is null or $5 = any(risk_types))
                    and ($6::boolean is not true or (status = 'IDENTIFYING' and next_deadline < $7))
                    and ($8::uuid[] is null or household_id = any($8))
                    and ($9::uuid is null or household_id > $9)
                  order by household_id
                  limit $10",
                )
                .bind(&prefix)
                .bind(status.map(|s| s.code()))
                .bind(group.map(|s| s.code()))
                .bind(category.map(|s| s.code()))
                .bind(risk.map(|s| s.code()))
                .bind(filter.overdue)
                .bind(today)
                .bind(samples.as_deref())
                .bind(after_id)
                .bind(limit as i64 + 1)
                .fetch_all(&api.pool)
                .await
                .map_err(ApiError::from)?;
                let has_next = rows.len() > limit;
                let mut connection = Connection::new(false, has_next);
                for r in rows.iter().take(limit) {
                    let s = summary(r, today).map_err(ApiError::from)?;
                    connection.edges.push(Edge::new(s.id.to_string(), s));
                }
                Ok::<_, async_graphql::Error>(connection)
            },
        )
        .await
    }

    /// 台账 — the village ledger of the three focus groups: every tagged household with its
    /// status and last visit.
    async fn village_ledger(
        &self,
        ctx: &Context<'_>,
        village: String,
    ) -> async_graphql::Result<Vec<LedgerEntry>> {
        let caller = caller(ctx)?;
        crate::region::parse_region("village", &village)?;
        caller.require_covers(&village)?;
        if caller.role == Role::SpotChecker {
            return Err(ApiError::Forbidden("spot-checkers see their samples only".into()).into());
        }
        let today = china_date(Utc::now());
        let rows = sqlx::query(
            "select t.focus_group, t.reason, t.tagged_at, c.*
               from casework.focus_tag t join casework.household_case c using (household_id)
              where t.village = $1
              order by t.focus_group, c.head_name, c.household_id",
        )
        .bind(&village)
        .fetch_all(&api(ctx).pool)
        .await
        .map_err(ApiError::from)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let group: String = r.try_get("focus_group").map_err(ApiError::from)?;
            out.push(LedgerEntry {
                focus_group: coded_from::<FocusGroup>(&group),
                reason: r.try_get("reason").map_err(ApiError::from)?,
                tagged_at: r.try_get("tagged_at").map_err(ApiError::from)?,
                household: summary(r, today).map_err(ApiError::from)?,
            });
        }
        Ok(out)
    }

    /// Every event of a stream (`household-<id>`, `alert-<id>`, `user-<id>`, …) with actor,
    /// role, both times, position and hash — for auditors and the county bureau.
    async fn audit_trail(
        &self,
        ctx: &Context<'_>,
        stream_id: String,
    ) -> async_graphql::Result<Vec<AuditEntry>> {
        let caller = caller(ctx)?;
        caller.require_role(&[Role::Auditor, Role::CountyOfficer], "read audit trails")?;
        let api = api(ctx);
        let mut conn = api.pool.acquire().await.map_err(ApiError::from)?;
        let events = read::read_stream(&mut conn, &stream_id, StreamRead::default())
            .await
            .map_err(ApiError::from)?;
        let Some(first) = events.first() else {
            return Err(ApiError::NotFound(format!("no stream {stream_id}")).into());
        };
        if let Some(id) = stream_id.strip_prefix("household-") {
            let id = Uuid::parse_str(id)
                .map_err(|_| ApiError::bad_input("streamId", "not a household id"))?;
            crate::household::read_household(api, caller, id, StreamRead::default()).await?;
        } else if !caller.covers(&first.county_code) {
            return Err(ApiError::NotFound(format!("no stream {stream_id}")).into());
        }
        Ok(events
            .iter()
            .map(|e| AuditEntry {
                seq: e.seq,
                ledger: e.ledger.clone(),
                stream_version: e.stream_version,
                event_id: e.event_id,
                event_type: e.event_type.clone(),
                schema_version: e.schema_version,
                data: serde_json::from_str(&e.data).unwrap_or_default(),
                actor_user: e.actor_user.clone(),
                actor_role: e.actor_role.clone(),
                actor_jurisdiction: e.actor_jurisdiction.clone(),
                command_id: e.command_id,
                correlation_id: e.correlation_id,
                causation_id: e.causation_id,
                occurred_at: e.occurred_at,
                recorded_at: e.recorded_at,
                prev_hash: hex::encode(&e.prev_hash),
                hash: e.hash_hex(),
            })
            .collect())
    }

    /// Recomputes the hash chain of a ledger, or of one household's events (each against its
    /// stored hash and its link to the ledger row before it).
    async fn verify_integrity(
        &self,
        ctx: &Context<'_>,
        ledger: Option<String>,
        household_id: Option<Uuid>,
    ) -> async_graphql::Result<Verification> {
        let caller = caller(ctx)?;
        caller.require_role(
            &[Role::Auditor, Role::CountyOfficer, Role::TownshipOfficer],
            "verify integrity",
        )?;
        let api = api(ctx);
        let mut conn = api.pool.acquire().await.map_err(ApiError::from)?;
        let report = match (ledger, household_id) {
            (Some(l), None) => {
                caller.require_covers(&l)?;
                verify::verify_ledger(&mut conn, &l).await
            }
            (None, Some(h)) => {
                crate::household::read_household(api, caller, h, StreamRead::default()).await?;
                verify::verify_stream(&mut conn, &format!("household-{h}")).await
            }
            _ => {
                return Err(
                    ApiError::bad_input("ledger", "give either ledger or householdId").into(),
                );
            }
        }
        .map_err(ApiError::from)?;
        Ok(report.into())
    }
}

/// One row of the village ledger.
#[derive(SimpleObject)]
pub struct LedgerEntry {
    pub focus_group: Coded,
    pub reason: String,
    pub tagged_at: DateTime<Utc>,
    pub household: HouseholdSummary,
}

/// One event as an auditor sees it.
#[derive(SimpleObject)]
pub struct AuditEntry {
    pub ledger: String,
    pub seq: i64,
    pub stream_version: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    /// The event body (personal data in it is sealed: masked, hashed, encrypted).
    pub data: serde_json::Value,
    pub actor_user: String,
    pub actor_role: String,
    pub actor_jurisdiction: String,
    pub command_id: Option<Uuid>,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}
