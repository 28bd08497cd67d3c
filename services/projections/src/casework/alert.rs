//! An alert event: fold it into the alert's state, then refresh its row in the queue
//! (预警台账) and, when it names a household, that household's timeline.

use dixian_domain::alert::{AlertEvent, AlertState};
use dixian_domain::vocab::StudyDecision;
use dixian_store::RecordedEvent;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::{county_and_township, decode, index_event};
use crate::ProjectionError;

pub(super) async fn apply(
    conn: &mut PgConnection,
    e: &RecordedEvent,
    alert_id: Uuid,
) -> Result<(), ProjectionError> {
    if super::passed_over(e, AlertEvent::TYPES) {
        return Ok(());
    }
    let event: AlertEvent = decode(e)?;
    let state: Option<Json<AlertState>> =
        sqlx::query_scalar("select state from alert_state where alert_id = $1")
            .bind(alert_id)
            .fetch_optional(&mut *conn)
            .await?;
    let state = state.map(|s| s.0).unwrap_or_default().evolve(&event);
    sqlx::query(
        "insert into alert_state (alert_id, version, state) values ($1, $2, $3)
         on conflict (alert_id) do update set version = excluded.version, state = excluded.state",
    )
    .bind(alert_id)
    .bind(e.stream_version)
    .bind(Json(&state))
    .execute(&mut *conn)
    .await?;
    // The decider refuses every step before the alert is raised.
    let (Some(raised), Some(status)) = (state.raised.as_ref(), state.status()) else {
        return Ok(());
    };
    if let Some(household_id) = raised.household_id {
        index_event(conn, household_id, e).await?;
    }
    let village = raised.village.as_str();
    let (county, township) = county_and_township(village);
    let first = state.first_round.as_ref();
    let study = state.study.as_ref();
    let pending = state.pending();
    sqlx::query(
        "insert into alert_queue as q
           (alert_id, ledger, county, township, village, household_id, source, department,
            trigger, severity, status, raised_at, first_round_due, second_round_due,
            first_round_at, second_round_at, escalation_level, disposition, closed_at, duplicates,
            opens_identification, trigger_text, risk_confirmed, first_round_late,
            second_round_late, pending_round, due_at, version, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)
         on conflict (alert_id) do update set
            ledger = excluded.ledger, county = excluded.county, township = excluded.township,
            village = excluded.village, household_id = excluded.household_id,
            source = excluded.source, department = excluded.department,
            trigger = excluded.trigger, severity = excluded.severity, status = excluded.status,
            raised_at = excluded.raised_at, first_round_due = excluded.first_round_due,
            second_round_due = excluded.second_round_due,
            first_round_at = excluded.first_round_at, second_round_at = excluded.second_round_at,
            escalation_level = excluded.escalation_level, disposition = excluded.disposition,
            closed_at = excluded.closed_at, duplicates = excluded.duplicates,
            opens_identification = excluded.opens_identification,
            trigger_text = excluded.trigger_text, risk_confirmed = excluded.risk_confirmed,
            first_round_late = excluded.first_round_late,
            second_round_late = excluded.second_round_late,
            pending_round = excluded.pending_round, due_at = excluded.due_at,
            version = excluded.version, updated_at = excluded.updated_at",
    )
    .bind(alert_id)
    .bind(&e.ledger)
    .bind(county)
    .bind(township)
    .bind(village)
    .bind(raised.household_id)
    .bind(raised.source.code())
    .bind(raised.department.map(|d| d.code()))
    .bind(&raised.trigger_code)
    .bind(raised.severity.code())
    .bind(status.code())
    .bind(raised.raised_at)
    .bind(raised.first_round_due)
    .bind(raised.second_round_due)
    .bind(first.map(|f| f.at))
    .bind(study.map(|s| s.at))
    .bind(
        state
            .escalations
            .iter()
            .map(|x| i32::try_from(x.level).unwrap_or(i32::MAX))
            .max()
            .unwrap_or(0),
    )
    .bind(state.disposition().map(|d| d.code()))
    .bind(state.closed_at)
    .bind(i32::try_from(state.duplicates).unwrap_or(i32::MAX))
    // The decider sets the event's flag exactly for this decision (一研究: 启动识别纳入程序).
    .bind(study.is_some_and(|s| s.decision == StudyDecision::StartIdentification))
    .bind(&raised.trigger_text)
    .bind(first.map(|f| f.risk_confirmed))
    .bind(first.map(|f| f.late))
    .bind(study.map(|s| s.late))
    .bind(pending.map(|(round, _)| round.code()))
    .bind(pending.map(|(_, due)| due))
    .bind(e.stream_version)
    .bind(e.recorded_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
