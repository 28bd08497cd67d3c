//! The casework read models' queries: every read of these tables goes through a function here,
//! so the API holds no SQL and a table's shape is known in one crate.
//!
//! Time-dependent flags (overdue, 逾期) compare stored due dates with the moment of the
//! question, which the caller passes in: the read model itself never reads a clock.

use chrono::{DateTime, NaiveDate, Utc};
use dixian_domain::alert::OpenAlertSummary;
use sqlx::PgPool;
use uuid::Uuid;

/// One household as the lists show it (案件状态).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseSummary {
    pub household_id: Uuid,
    pub village: String,
    pub grid: Option<String>,
    pub head_name: String,
    pub status: String,
    pub episode: i32,
    pub category: Option<String>,
    pub risk_types: Vec<String>,
    pub focus_groups: Vec<String>,
    pub resident_members: i32,
    pub next_deadline: Option<NaiveDate>,
    pub measures: i32,
    pub open_alerts: i32,
    pub last_visit_at: Option<DateTime<Utc>>,
    pub last_income_month: Option<String>,
    pub last_income_per_capita_fen: Option<i64>,
    pub approved_at: Option<DateTime<Utc>>,
    pub removed_at: Option<DateTime<Utc>>,
}

const CASE_COLUMNS: &str = "c.household_id, c.village, c.grid, c.head_name, c.status, c.episode,
    c.category, c.risk_types, c.focus_groups, c.resident_members, c.next_deadline, c.measures,
    c.open_alerts, c.last_visit_at, c.last_income_month, c.last_income_per_capita_fen,
    c.approved_at, c.removed_at";

/// The household list's filters (codes as the log stores them), combined with AND.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter<'a> {
    /// A region-code prefix.
    pub region: &'a str,
    pub status: Option<&'a str>,
    pub focus_group: Option<&'a str>,
    pub category: Option<&'a str>,
    pub risk_type: Option<&'a str>,
    /// Only households in identification past their deadline on this date.
    pub overdue_on: Option<NaiveDate>,
    /// Only these households (a spot checker's samples).
    pub only: Option<&'a [Uuid]>,
    /// Keyset paging: households with a larger id.
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// A page of the household list, ordered by household id.
pub async fn households(
    pool: &PgPool,
    f: &CaseFilter<'_>,
) -> Result<Vec<CaseSummary>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {CASE_COLUMNS} from casework.household_case c
          where c.village like $1 || '%'
            and ($2::text is null or c.status = $2)
            and ($3::text is null or $3 = any(c.focus_groups))
            and ($4::text is null or c.category = $4)
            and ($5::text is null or $5 = any(c.risk_types))
            and ($6::date is null or (c.status = 'IDENTIFYING' and c.next_deadline < $6))
            and ($7::uuid[] is null or c.household_id = any($7))
            and ($8::uuid is null or c.household_id > $8)
          order by c.household_id
          limit $9"
    )))
    .bind(f.region)
    .bind(f.status)
    .bind(f.focus_group)
    .bind(f.category)
    .bind(f.risk_type)
    .bind(f.overdue_on)
    .bind(f.only)
    .bind(f.after)
    .bind(f.limit)
    .fetch_all(pool)
    .await
}

/// One row of a village's focus-group ledger (台账).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LedgerRow {
    pub focus_group: String,
    pub reason: String,
    pub tagged_at: DateTime<Utc>,
    #[sqlx(flatten)]
    pub case: CaseSummary,
}

/// The three focus groups of a village with each household's case, by group and head name.
pub async fn village_ledger(pool: &PgPool, village: &str) -> Result<Vec<LedgerRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select t.focus_group, t.reason, t.tagged_at, {CASE_COLUMNS}
           from casework.focus_tag t join casework.household_case c using (household_id)
          where t.village = $1
          order by t.focus_group, c.head_name, c.household_id"
    )))
    .bind(village)
    .fetch_all(pool)
    .await
}

/// One row of the alert queue (预警台账).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AlertRow {
    pub alert_id: Uuid,
    pub village: String,
    pub township: String,
    pub household_id: Option<Uuid>,
    pub source: String,
    pub department: Option<String>,
    pub trigger: String,
    pub severity: String,
    pub status: String,
    pub raised_at: DateTime<Utc>,
    pub first_round_due: DateTime<Utc>,
    pub second_round_due: DateTime<Utc>,
    pub first_round_at: Option<DateTime<Utc>>,
    pub second_round_at: Option<DateTime<Utc>>,
    pub escalation_level: i32,
    pub disposition: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub duplicates: i32,
    pub opens_identification: bool,
    /// The round still owed is past its deadline at the moment asked about.
    pub overdue: bool,
}

/// The alert queue's filters.
#[derive(Debug, Clone)]
pub struct AlertFilter<'a> {
    /// The caller's jurisdiction (a region-code prefix): nothing outside it is returned.
    pub jurisdiction: &'a str,
    /// A narrower (or equal) region-code prefix.
    pub region: &'a str,
    pub include_closed: bool,
    pub overdue_only: bool,
    /// The moment "overdue" is judged at.
    pub now: DateTime<Utc>,
    /// Keyset paging: after this (first-round deadline, alert id).
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// The owed round is past its deadline at `$now`: the first round until feedback, then the
/// second round until the study; never once studied or closed.
const OVERDUE: &str = "(closed_at is null and second_round_at is null and
    ((first_round_at is null and first_round_due < $now)
     or (first_round_at is not null and second_round_due < $now)))";

/// A page of the alert queue, ordered by the first-round deadline.
pub async fn alert_queue(pool: &PgPool, f: &AlertFilter<'_>) -> Result<Vec<AlertRow>, sqlx::Error> {
    let overdue = OVERDUE.replace("$now", "$7");
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select alert_id, village, township, household_id, source, department, trigger, severity,
                status, raised_at, first_round_due, second_round_due, first_round_at,
                second_round_at, escalation_level, disposition, closed_at, duplicates,
                opens_identification, {overdue} as overdue
           from casework.alert_queue
          where village like ($1 || '%')
            and village like ($2 || '%')
            and ($3 or closed_at is null)
            and (not $4 or {overdue})
            and ($5::timestamptz is null or (first_round_due, alert_id) > ($5, $6))
          order by first_round_due, alert_id
          limit $8"
    )))
    .bind(f.jurisdiction)
    .bind(f.region)
    .bind(f.include_closed)
    .bind(f.overdue_only)
    .bind(f.after.map(|(due, _)| due))
    .bind(f.after.map(|(_, id)| id).unwrap_or_default())
    .bind(f.now)
    .bind(f.limit)
    .fetch_all(pool)
    .await
}

/// The open alerts about a household, as deduplication sees them.
pub async fn open_alerts_of(
    pool: &PgPool,
    household_id: Uuid,
) -> Result<Vec<OpenAlertSummary>, sqlx::Error> {
    let rows: Vec<(Uuid, Option<Uuid>, String, DateTime<Utc>)> = sqlx::query_as(
        "select alert_id, household_id, trigger, raised_at from casework.alert_queue
          where household_id = $1 and closed_at is null order by raised_at, alert_id",
    )
    .bind(household_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(alert_id, household_id, trigger_code, raised_at)| OpenAlertSummary {
                alert_id,
                household_id,
                trigger_code,
                raised_at,
            },
        )
        .collect())
}

/// The households a person is a member of, found by the keyed hash of their ID number, within
/// a region-code prefix.
pub async fn households_of_person(
    pool: &PgPool,
    lookup_hash: &str,
    region: &str,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "select distinct household_id from casework.member_lookup
          where lookup_hash = $1 and village like $2 || '%' order by household_id",
    )
    .bind(lookup_hash)
    .bind(region)
    .fetch_all(pool)
    .await
}

/// A region's households as (village, category or `NONE`, household id), by id: the population
/// spot-check samples are drawn from.
pub async fn sample_population(
    pool: &PgPool,
    region: &str,
) -> Result<Vec<(String, String, Uuid)>, sqlx::Error> {
    sqlx::query_as(
        "select village, coalesce(category, 'NONE') as category, household_id
           from casework.household_case where village like $1 || '%' order by household_id",
    )
    .bind(region)
    .fetch_all(pool)
    .await
}
