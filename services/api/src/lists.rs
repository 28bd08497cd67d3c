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
use dixian_domain::{Role, StreamId, china_date};
use dixian_projections::casework::queries::{self, CaseFilter, CaseSummary};
use dixian_store::{StreamRead, read, verify};
use uuid::Uuid;

use crate::error::ApiError;
use crate::ledger::Verification;
use crate::schema::{ApiContext, api, caller};
use crate::vocab::{CategoryLabel, FocusGroupLabel, MonitoringStatusLabel, RiskTypeLabel, stored};

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

/// One household in a list (from the case-state read model).
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct HouseholdSummary {
    pub id: Uuid,
    pub village: String,
    pub grid: Option<String>,
    pub head_name: String,
    pub status: MonitoringStatusLabel,
    pub episode: i32,
    pub category: Option<CategoryLabel>,
    pub risk_types: Vec<RiskTypeLabel>,
    pub focus_groups: Vec<FocusGroupLabel>,
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

impl HouseholdSummary {
    fn from_row(c: CaseSummary, today: NaiveDate) -> Result<Self, ApiError> {
        Ok(Self {
            overdue: c.status == MonitoringStatus::Identifying.code()
                && c.next_deadline.is_some_and(|d| d < today),
            status: stored::<MonitoringStatus>(&c.status)?,
            category: c.category.as_deref().map(stored::<Category>).transpose()?,
            risk_types: c
                .risk_types
                .iter()
                .map(|r| stored::<RiskType>(r))
                .collect::<Result<_, _>>()?,
            focus_groups: c
                .focus_groups
                .iter()
                .map(|g| stored::<FocusGroup>(g))
                .collect::<Result<_, _>>()?,
            id: c.household_id,
            village: c.village,
            grid: c.grid,
            head_name: c.head_name,
            episode: c.episode,
            resident_members: c.resident_members,
            next_deadline: c.next_deadline,
            measures: c.measures,
            open_alerts: c.open_alerts,
            last_visit_at: c.last_visit_at,
            last_income_month: c.last_income_month,
            last_income_per_capita_fen: c.last_income_per_capita_fen,
            approved_at: c.approved_at,
            removed_at: c.removed_at,
        })
    }
}

/// Filters of the household list; all optional and combined with AND.
#[derive(InputObject, Default)]
pub struct HouseholdFilter {
    /// A region-code prefix inside the caller's jurisdiction (default: the jurisdiction).
    pub region: Option<String>,
    pub focus_group: Option<crate::vocab::FocusGroup>,
    pub status: Option<crate::vocab::MonitoringStatus>,
    pub category: Option<crate::vocab::Category>,
    pub risk_type: Option<crate::vocab::RiskType>,
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
        let status = filter.status.map(MonitoringStatus::from);
        let group = filter.focus_group.map(FocusGroup::from);
        let category = filter.category.map(Category::from);
        let risk = filter.risk_type.map(RiskType::from);
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
                let rows = queries::households(
                    &api.pool,
                    &CaseFilter {
                        region: &prefix,
                        status: status.map(|s| s.code()),
                        focus_group: group.map(|s| s.code()),
                        category: category.map(|s| s.code()),
                        risk_type: risk.map(|s| s.code()),
                        overdue_on: (filter.overdue == Some(true)).then_some(today),
                        only: samples.as_deref(),
                        after: after_id,
                        limit: i64::try_from(limit + 1).unwrap_or(i64::MAX),
                    },
                )
                .await
                .map_err(ApiError::from)?;
                let has_next = rows.len() > limit;
                let mut connection = Connection::new(false, has_next);
                for r in rows.into_iter().take(limit) {
                    let s = HouseholdSummary::from_row(r, today)?;
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
        let rows = queries::village_ledger(&api(ctx).pool, &village)
            .await
            .map_err(ApiError::from)?;
        rows.into_iter()
            .map(|r| {
                Ok(LedgerEntry {
                    focus_group: stored::<FocusGroup>(&r.focus_group)?,
                    reason: r.reason,
                    tagged_at: r.tagged_at,
                    household: HouseholdSummary::from_row(r.case, today)?,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()
            .map_err(Into::into)
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
        // One connection at a time: the access check below reads through the fold cache.
        let events = {
            let mut conn = api.pool.acquire().await.map_err(ApiError::from)?;
            read::read_stream(&mut conn, &stream_id, StreamRead::default())
                .await
                .map_err(ApiError::from)?
        };
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
        let report = match (ledger, household_id) {
            (Some(l), None) => {
                caller.require_covers(&l)?;
                let mut conn = api.pool.acquire().await.map_err(ApiError::from)?;
                verify::verify_ledger(&mut conn, &l).await
            }
            (None, Some(h)) => {
                // The access check first: it reads through the fold cache, and a request
                // holds one connection at a time.
                crate::household::read_household(api, caller, h, StreamRead::default()).await?;
                let mut conn = api.pool.acquire().await.map_err(ApiError::from)?;
                verify::verify_stream(&mut conn, &StreamId::Household(h).to_string()).await
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
    pub focus_group: FocusGroupLabel,
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
