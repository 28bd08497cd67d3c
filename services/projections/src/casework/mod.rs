//! Casework (案件): the lists officials work from, one projection with four tables.
//!
//! - `household_case` — one row per household (案件状态): where it stands in the procedure
//!   (监测状态, 识别/风险消除步骤), its episode (第几轮监测), category (监测对象类别), risk types,
//!   step dates and open deadlines.
//! - `alert_queue` — one row per early warning (研判预警), open or closed, with its two rounds'
//!   deadlines (村级首轮 / 镇街二轮), escalation (督办) and disposition (处置结论).
//! - `focus_tag` — the village ledger (台账) of the three focus groups (三类群体); a row goes when
//!   the tag goes.
//! - `household_event_index` — every event about a household, its own stream's and those of
//!   alerts matched to it, for the dossier timeline (一户一档) and batch loading.
//!
//! How it folds: the household and alert deciders' own state is kept per stream as jsonb
//! (`household_state`, `alert_state`). Each event loads that state, runs the domain's `evolve`
//! and derives the list columns from the result, so a list can never say something the domain
//! would not. Nothing reads a clock: time-dependent flags (overdue, 逾期) are left to queries,
//! which compare the stored due dates with the time of the question.
//!
//! Only domain streams are case files: a stream whose id is not `household-<uuid>` or
//! `alert-<uuid>` (fixtures, other aggregates) is passed over, and so is an event type the
//! domain does not know (a newer release's). An event of a known type that does not decode
//! stops the projection with [`ProjectionError::Decode`]: skipping it would leave the lists
//! silently wrong, while a stop is visible (`stuckProjections`, `/readyz`, the metric
//! `dixian_projection_blocked`) and a rebuild after the fix is exact. Text the log holds from
//! before it refused U+0000 is made storable on decode.

mod alert;
mod household;
pub mod queries;

use dixian_domain::StreamId;
use dixian_store::{BoxFuture, RecordedEvent};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{Projection, ProjectionError};

pub struct Casework;

impl Projection for Casework {
    fn name(&self) -> &'static str {
        "casework"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            // The deciders' folded state, one row per stream.
            "create table household_state (
               household_id  uuid primary key,
               version       bigint not null,
               state         jsonb not null
           )",
            "create table alert_state (
               alert_id  uuid primary key,
               version   bigint not null,
               state     jsonb not null
           )",
            "create table household_case (
               household_id                uuid primary key,
               ledger                      text not null,
               county                      text not null,
               township                    text not null,
               village                     text not null,
               grid                        text,
               address                     text not null,
               head_name                   text not null,
               formerly_poor               boolean not null,
               resident_members            integer not null,
               focus_groups                text[] not null,
               status                      text not null,
               episode                     integer not null,
               category                    text,
               risk_types                  text[] not null,
               identification_stage        text,
               removal_stage               text,
               applied_at                  timestamptz,
               approved_at                 timestamptz,
               removed_at                  timestamptz,
               identification_due          date,
               green_channel_due           date,
               next_deadline               date,
               measures                    integer not null,
               open_alerts                 integer not null,
               last_visit_at               timestamptz,
               last_income_month           text,
               last_income_per_capita_fen  bigint,
               version                     bigint not null,
               updated_at                  timestamptz not null,
               registered_at               timestamptz not null,
               in_green_channel            boolean not null,
               removal_proposed_at         timestamptz
           )",
            "create index if not exists household_case_village on household_case (village)",
            "create index if not exists household_case_township on household_case (township)",
            "create index if not exists household_case_status on household_case (status)",
            "create index if not exists household_case_focus_groups on household_case using gin (focus_groups)",
            "create index if not exists household_case_risk_types on household_case using gin (risk_types)",
            "create table alert_queue (
               alert_id              uuid primary key,
               ledger                text not null,
               county                text not null,
               township              text not null,
               village               text not null,
               household_id          uuid,
               source                text not null,
               department            text,
               trigger               text not null,
               severity              text not null,
               status                text not null,
               raised_at             timestamptz not null,
               first_round_due       timestamptz not null,
               second_round_due      timestamptz not null,
               first_round_at        timestamptz,
               second_round_at       timestamptz,
               escalation_level      integer not null,
               disposition           text,
               closed_at             timestamptz,
               duplicates            integer not null,
               opens_identification  boolean not null,
               trigger_text          text not null,
               risk_confirmed        boolean,
               first_round_late      boolean,
               second_round_late     boolean,
               pending_round         text,
               due_at                timestamptz,
               version               bigint not null,
               updated_at            timestamptz not null
           )",
            "create index if not exists alert_queue_village on alert_queue (village)",
            "create index if not exists alert_queue_township on alert_queue (township)",
            "create index if not exists alert_queue_status on alert_queue (status)",
            "create index if not exists alert_queue_first_round_due on alert_queue (first_round_due)",
            "create index if not exists alert_queue_due_at on alert_queue (due_at) where due_at is not null",
            "create index if not exists alert_queue_household on alert_queue (household_id) where household_id is not null",
            "create table focus_tag (
               household_id  uuid not null,
               focus_group   text not null,
               reason        text not null,
               tagged_at     timestamptz not null,
               village       text not null,
               township      text not null,
               ledger        text not null,
               primary key (household_id, focus_group)
           )",
            "create index if not exists focus_tag_village on focus_tag (village, focus_group)",
            "create index if not exists focus_tag_township on focus_tag (township, focus_group)",
            "create table member_lookup (
               household_id  uuid not null,
               member_id     uuid not null,
               lookup_hash   text not null,
               village       text not null,
               primary key (household_id, member_id)
           )",
            "create index if not exists member_lookup_hash on member_lookup (lookup_hash)",
            "create table household_event_index (
               household_id    uuid not null,
               ledger          text not null,
               seq             bigint not null,
               stream_id       text not null,
               stream_version  bigint not null,
               event_type      text not null,
               occurred_at     timestamptz not null,
               recorded_at     timestamptz not null,
               actor_user      text not null,
               actor_role      text not null,
               primary key (household_id, ledger, seq)
           )",
        ]
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        e: &'a RecordedEvent,
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async move {
            match case_of(&e.stream_type, &e.stream_id) {
                Some(StreamId::Household(id)) => household::apply(conn, e, id).await,
                Some(StreamId::Alert(id)) => alert::apply(conn, e, id).await,
                _ => Ok(()),
            }
        })
    }
}

/// The domain stream an event belongs to, when its id is one (`household-<uuid>`, …) of the
/// type the log recorded for it.
fn case_of(stream_type: &str, stream_id: &str) -> Option<StreamId> {
    StreamId::parse(stream_id).filter(|s| s.kind() == stream_type)
}

/// Whether this projection passes over an event: a type the domain does not know (written by a
/// newer release, or by a tool) cannot change a list this release draws. Counted and logged,
/// never fatal: a rolling upgrade or a foreign event must not stop a county's lists. A known
/// type that does not decode is another matter (see [`decode`]).
fn passed_over(e: &RecordedEvent, known: &[&str]) -> bool {
    if known.contains(&e.event_type.as_str()) {
        return false;
    }
    metrics::counter!("dixian_projection_passed_over_total", "projection" => "casework", "event_type" => e.event_type.clone())
        .increment(1);
    tracing::warn!(
        ledger = e.ledger,
        seq = e.seq,
        event_type = e.event_type,
        "casework passes over an event type it does not know"
    );
    true
}

/// The typed body, or the error that stops the projection at this event.
fn decode<T: serde::de::DeserializeOwned>(e: &RecordedEvent) -> Result<T, ProjectionError> {
    e.decode_storable().map_err(|err| ProjectionError::Decode {
        seq: e.seq,
        event_type: e.event_type.clone(),
        reason: err.to_string(),
    })
}

/// County (区县, 6 digits) and township (乡镇, 9 digits) of a 12-digit village code.
fn county_and_township(village: &str) -> (&str, &str) {
    (
        village.get(..6).unwrap_or(village),
        village.get(..9).unwrap_or(village),
    )
}

/// One line of a household's timeline.
async fn index_event(
    conn: &mut PgConnection,
    household_id: Uuid,
    e: &RecordedEvent,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into household_event_index
           (household_id, ledger, seq, stream_id, stream_version, event_type, occurred_at,
            recorded_at, actor_user, actor_role)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(household_id)
    .bind(&e.ledger)
    .bind(e.seq)
    .bind(&e.stream_id)
    .bind(e.stream_version)
    .bind(&e.event_type)
    .bind(e.occurred_at)
    .bind(e.recorded_at)
    .bind(&e.actor_user)
    .bind(&e.actor_role)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_domain_stream_ids_name_a_case() {
        let id = Uuid::from_u128(7);
        let household = StreamId::Household(id).to_string();
        assert_eq!(
            case_of("household", &household),
            Some(StreamId::Household(id))
        );
        assert_eq!(case_of("household", "household-370305-1"), None);
        assert_eq!(
            case_of("alert", &household),
            None,
            "the recorded type must agree"
        );
    }

    #[test]
    fn a_village_code_names_its_county_and_township() {
        assert_eq!(county_and_township("370305101201"), ("370305", "370305101"));
        assert_eq!(county_and_township("3703"), ("3703", "3703"));
    }
}
