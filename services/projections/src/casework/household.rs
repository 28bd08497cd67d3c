//! A household event: fold it into the household's state, then refresh its case row (案件状态),
//! its focus-group ledger rows (三类群体台账) and its timeline.

use chrono::{DateTime, NaiveDate, Utc};
use dixian_domain::household::{HouseholdEvent, HouseholdState, IncomeRecord};
use dixian_store::RecordedEvent;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::{county_and_township, decode, index_event};
use crate::ProjectionError;

pub(super) async fn apply(
    conn: &mut PgConnection,
    e: &RecordedEvent,
    household_id: Uuid,
) -> Result<(), ProjectionError> {
    if super::passed_over(e, HouseholdEvent::TYPES) {
        return Ok(());
    }
    let event: HouseholdEvent = decode(e)?;
    let state: Option<Json<HouseholdState>> =
        sqlx::query_scalar("select state from household_state where household_id = $1")
            .bind(household_id)
            .fetch_optional(&mut *conn)
            .await?;
    let state = state.map(|s| s.0).unwrap_or_default().evolve(&event);
    sqlx::query(
        "insert into household_state (household_id, version, state) values ($1, $2, $3)
         on conflict (household_id) do update set version = excluded.version, state = excluded.state",
    )
    .bind(household_id)
    .bind(e.stream_version)
    .bind(Json(&state))
    .execute(&mut *conn)
    .await?;
    index_event(conn, household_id, e).await?;
    // The decider refuses every step before registration; a stream without one has no village
    // to list it under.
    let Some(row) = CaseRow::of(&state) else {
        return Ok(());
    };
    save_case(conn, e, household_id, &row).await?;
    if matches!(
        event,
        HouseholdEvent::HouseholdRegistered { .. }
            | HouseholdEvent::MemberAdded { .. }
            | HouseholdEvent::MemberUpdated { .. }
            | HouseholdEvent::MemberRemoved { .. }
    ) {
        save_member_lookup(conn, household_id, &row.village, &state).await?;
    }
    match &event {
        HouseholdEvent::FocusGroupTagged { group, .. } => {
            if let Some(tag) = state.focus_groups.get(group) {
                sqlx::query(
                    "insert into focus_tag
                       (household_id, focus_group, reason, tagged_at, village, township, ledger)
                     values ($1, $2, $3, $4, $5, $6, $7)
                     on conflict (household_id, focus_group) do update
                        set reason = excluded.reason, tagged_at = excluded.tagged_at",
                )
                .bind(household_id)
                .bind(group.code())
                .bind(&tag.reason)
                .bind(tag.tagged_at)
                .bind(&row.village)
                .bind(&row.township)
                .bind(&e.ledger)
                .execute(&mut *conn)
                .await?;
            }
        }
        HouseholdEvent::FocusGroupUntagged { group, .. } => {
            sqlx::query("delete from focus_tag where household_id = $1 and focus_group = $2")
                .bind(household_id)
                .bind(group.code())
                .execute(&mut *conn)
                .await?;
        }
        _ => {}
    }
    Ok(())
}

/// The case columns, all read off the domain's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaseRow {
    pub county: String,
    pub township: String,
    pub village: String,
    pub grid: Option<String>,
    pub address: String,
    pub head_name: String,
    pub formerly_poor: bool,
    pub resident_members: i32,
    pub focus_groups: Vec<String>,
    pub status: &'static str,
    pub episode: i32,
    pub category: Option<&'static str>,
    pub risk_types: Vec<String>,
    pub identification_stage: Option<&'static str>,
    pub removal_stage: Option<&'static str>,
    /// Set while an application is under way; the stored row keeps the last one after it ends.
    pub applied_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub removed_at: Option<DateTime<Utc>>,
    pub identification_due: Option<NaiveDate>,
    pub green_channel_due: Option<NaiveDate>,
    pub next_deadline: Option<NaiveDate>,
    pub measures: i32,
    pub open_alerts: i32,
    pub last_visit_at: Option<DateTime<Utc>>,
    pub last_income_month: Option<String>,
    pub last_income_per_capita_fen: Option<i64>,
    pub registered_at: DateTime<Utc>,
    pub in_green_channel: bool,
    pub removal_proposed_at: Option<DateTime<Utc>>,
}

impl CaseRow {
    /// `None` before registration.
    pub fn of(state: &HouseholdState) -> Option<Self> {
        let registration = state.registration.as_ref()?;
        let village = registration.village.as_str();
        let (county, township) = county_and_township(village);
        // Category, risk types and step dates are the latest episode's: a household whose risk
        // was removed is still listed (and counted) as the kind of case it was.
        let latest = state.episodes.last();
        let mut focus_groups: Vec<String> = state
            .focus_groups
            .keys()
            .map(|g| g.code().to_owned())
            .collect();
        focus_groups.sort();
        let mut risk_types: Vec<String> = latest
            .map(|ep| ep.risk_types.iter().map(|r| r.code().to_owned()).collect())
            .unwrap_or_default();
        risk_types.sort();
        risk_types.dedup();
        // Measures of the episode assistance is recorded for: the open one, the coming one under
        // the green channel (先帮扶后认定), or else the latest one.
        let measure_episode = state
            .working_episode_number()
            .or(latest.map(|ep| ep.number));
        let measures = measure_episode.map_or(0, |n| {
            state
                .measures
                .values()
                .filter(|m| m.episode_number == n)
                .count()
        });
        let identification = state.identification.as_ref();
        let identification_due = state.identification_due();
        let green_channel_due = identification
            .and_then(|i| i.green_channel.as_ref())
            .map(|g| g.backfill_due);
        // "For a month, the later record counts": the last record in log order of the latest
        // window month.
        let last_income = state
            .incomes
            .iter()
            .fold(None, |best: Option<&IncomeRecord>, r| match best {
                Some(b) if b.window_end > r.window_end => Some(b),
                _ => Some(r),
            });
        Some(Self {
            county: county.to_owned(),
            township: township.to_owned(),
            village: village.to_owned(),
            grid: registration.grid.as_ref().map(ToString::to_string),
            address: registration.address.clone(),
            head_name: state.head().map(|m| m.name.clone()).unwrap_or_default(),
            formerly_poor: registration.formerly_poor,
            resident_members: to_i32(state.resident_count()),
            focus_groups,
            status: state.status.code(),
            episode: latest.map_or(0, |ep| to_i32(ep.number)),
            category: latest.map(|ep| ep.category.code()),
            risk_types,
            identification_stage: identification.map(|i| i.steps.stage.code()),
            removal_stage: state.removal.as_ref().map(|r| r.steps.stage.code()),
            applied_at: identification.map(|i| i.applied_at),
            approved_at: latest.map(|ep| ep.approved_at),
            removed_at: latest.and_then(|ep| ep.removed_at),
            identification_due,
            green_channel_due,
            next_deadline: [identification_due, green_channel_due]
                .into_iter()
                .flatten()
                .min(),
            measures: to_i32(measures),
            open_alerts: to_i32(state.open_alerts.len()),
            last_visit_at: state.visits.values().map(|v| v.at).max(),
            last_income_month: last_income.map(|r| r.window_end.to_string()),
            last_income_per_capita_fen: last_income.map(|r| r.per_capita_fen),
            registered_at: registration.registered_at,
            in_green_channel: state.in_green_channel(),
            removal_proposed_at: state.removal.as_ref().map(|r| r.proposed_at),
        })
    }
}

/// `householdByIdNumber`: current members by the keyed hash of their ID number (never the
/// number itself).
async fn save_member_lookup(
    conn: &mut PgConnection,
    household_id: Uuid,
    village: &str,
    state: &HouseholdState,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from member_lookup where household_id = $1")
        .bind(household_id)
        .execute(&mut *conn)
        .await?;
    let members: Vec<Uuid> = state.members.keys().copied().collect();
    let hashes: Vec<String> = state
        .members
        .values()
        .map(|m| m.id_number.lookup_hash.clone())
        .collect();
    sqlx::query(
        "insert into member_lookup (household_id, member_id, lookup_hash, village)
         select $1, m, h, $2 from unnest($3::uuid[], $4::text[]) as u(m, h)",
    )
    .bind(household_id)
    .bind(village)
    .bind(&members)
    .bind(&hashes)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn to_i32<N: TryInto<i32>>(n: N) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

async fn save_case(
    conn: &mut PgConnection,
    e: &RecordedEvent,
    household_id: Uuid,
    row: &CaseRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into household_case as c
           (household_id, ledger, county, township, village, grid, address, head_name,
            formerly_poor, resident_members, focus_groups, status, episode, category, risk_types,
            identification_stage, removal_stage, applied_at, approved_at, removed_at,
            identification_due, green_channel_due, next_deadline, measures, open_alerts,
            last_visit_at, last_income_month, last_income_per_capita_fen, version, updated_at,
            registered_at, in_green_channel, removal_proposed_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33)
         on conflict (household_id) do update set
            ledger = excluded.ledger, county = excluded.county, township = excluded.township,
            village = excluded.village, grid = excluded.grid, address = excluded.address,
            head_name = excluded.head_name, formerly_poor = excluded.formerly_poor,
            resident_members = excluded.resident_members, focus_groups = excluded.focus_groups,
            status = excluded.status, episode = excluded.episode, category = excluded.category,
            risk_types = excluded.risk_types,
            identification_stage = excluded.identification_stage,
            removal_stage = excluded.removal_stage,
            applied_at = coalesce(excluded.applied_at, c.applied_at),
            approved_at = excluded.approved_at, removed_at = excluded.removed_at,
            identification_due = excluded.identification_due,
            green_channel_due = excluded.green_channel_due,
            next_deadline = excluded.next_deadline, measures = excluded.measures,
            open_alerts = excluded.open_alerts, last_visit_at = excluded.last_visit_at,
            last_income_month = excluded.last_income_month,
            last_income_per_capita_fen = excluded.last_income_per_capita_fen,
            version = excluded.version, updated_at = excluded.updated_at,
            registered_at = excluded.registered_at, in_green_channel = excluded.in_green_channel,
            removal_proposed_at = excluded.removal_proposed_at",
    )
    .bind(household_id)
    .bind(&e.ledger)
    .bind(&row.county)
    .bind(&row.township)
    .bind(&row.village)
    .bind(&row.grid)
    .bind(&row.address)
    .bind(&row.head_name)
    .bind(row.formerly_poor)
    .bind(row.resident_members)
    .bind(&row.focus_groups)
    .bind(row.status)
    .bind(row.episode)
    .bind(row.category)
    .bind(&row.risk_types)
    .bind(row.identification_stage)
    .bind(row.removal_stage)
    .bind(row.applied_at)
    .bind(row.approved_at)
    .bind(row.removed_at)
    .bind(row.identification_due)
    .bind(row.green_channel_due)
    .bind(row.next_deadline)
    .bind(row.measures)
    .bind(row.open_alerts)
    .bind(row.last_visit_at)
    .bind(&row.last_income_month)
    .bind(row.last_income_per_capita_fen)
    .bind(e.stream_version)
    .bind(e.recorded_at)
    .bind(row.registered_at)
    .bind(row.in_green_channel)
    .bind(row.removal_proposed_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
