//! The index of streams: type, version, event count and times per stream. Generic over every
//! stream type; the audit views and `/metrics` use it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use dixian_store::{BoxFuture, RecordedEvent};
use sqlx::PgConnection;

use crate::{Projection, ProjectionError};

pub struct StreamIndex;

impl Projection for StreamIndex {
    fn name(&self) -> &'static str {
        "stream_index"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "create table stream_summary (
               stream_id          text primary key,
               ledger             text not null,
               stream_type        text not null,
               version            bigint not null,
               event_count        bigint not null,
               last_event_type    text not null,
               first_recorded_at  timestamptz not null,
               last_recorded_at   timestamptz not null,
               last_seq           bigint not null
           )",
            "create table event_type_count (
               ledger      text not null,
               event_type  text not null,
               n           bigint not null,
               primary key (ledger, event_type)
           )",
        ]
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        e: &'a RecordedEvent,
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async move {
            sqlx::query(
                "insert into stream_summary as s values ($1, $2, $3, $4, 1, $5, $6, $6, $7)
                 on conflict (stream_id) do update
                    set version = excluded.version, event_count = s.event_count + 1,
                        last_event_type = excluded.last_event_type,
                        last_recorded_at = excluded.last_recorded_at, last_seq = excluded.last_seq",
            )
            .bind(&e.stream_id)
            .bind(&e.ledger)
            .bind(&e.stream_type)
            .bind(e.stream_version)
            .bind(&e.event_type)
            .bind(e.recorded_at)
            .bind(e.seq)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "insert into event_type_count as c values ($1, $2, 1)
                 on conflict (ledger, event_type) do update set n = c.n + 1",
            )
            .bind(&e.ledger)
            .bind(&e.event_type)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    }

    /// The same fold as `apply` event by event, aggregated in memory first: one upsert row per
    /// stream and one per (ledger, event type), each table in one statement.
    fn apply_batch<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [RecordedEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async move {
            if events.is_empty() {
                return Ok(());
            }
            let streams = StreamRows::fold(events);
            sqlx::query(
                "insert into stream_summary as s (stream_id, ledger, stream_type, version,
                        event_count, last_event_type, first_recorded_at, last_recorded_at, last_seq)
                 select * from unnest($1::text[], $2::text[], $3::text[], $4::bigint[],
                                      $5::bigint[], $6::text[], $7::timestamptz[],
                                      $8::timestamptz[], $9::bigint[])
                 on conflict (stream_id) do update
                    set version = excluded.version,
                        event_count = s.event_count + excluded.event_count,
                        last_event_type = excluded.last_event_type,
                        last_recorded_at = excluded.last_recorded_at, last_seq = excluded.last_seq",
            )
            .bind(&streams.stream_id)
            .bind(&streams.ledger)
            .bind(&streams.stream_type)
            .bind(&streams.version)
            .bind(&streams.count)
            .bind(&streams.last_event_type)
            .bind(&streams.first_recorded_at)
            .bind(&streams.last_recorded_at)
            .bind(&streams.last_seq)
            .execute(&mut *conn)
            .await?;

            let mut counts: Vec<((&str, &str), i64)> = Vec::new();
            let mut index: HashMap<(&str, &str), usize> = HashMap::new();
            for e in events {
                let key = (e.ledger.as_str(), e.event_type.as_str());
                let i = *index.entry(key).or_insert_with(|| {
                    counts.push((key, 0));
                    counts.len() - 1
                });
                counts[i].1 += 1;
            }
            sqlx::query(
                "insert into event_type_count as c (ledger, event_type, n)
                 select * from unnest($1::text[], $2::text[], $3::bigint[])
                 on conflict (ledger, event_type) do update set n = c.n + excluded.n",
            )
            .bind(counts.iter().map(|c| c.0.0).collect::<Vec<_>>())
            .bind(counts.iter().map(|c| c.0.1).collect::<Vec<_>>())
            .bind(counts.iter().map(|c| c.1).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    }
}

/// One `stream_summary` upsert row per stream of a batch, as columns: what applying the
/// stream's events in turn would leave (first values from its first event in the batch, last
/// values from its last, the count added to any stored count).
#[derive(Default)]
struct StreamRows<'e> {
    stream_id: Vec<&'e str>,
    ledger: Vec<&'e str>,
    stream_type: Vec<&'e str>,
    version: Vec<i64>,
    count: Vec<i64>,
    last_event_type: Vec<&'e str>,
    first_recorded_at: Vec<DateTime<Utc>>,
    last_recorded_at: Vec<DateTime<Utc>>,
    last_seq: Vec<i64>,
}

impl<'e> StreamRows<'e> {
    fn fold(events: &'e [RecordedEvent]) -> Self {
        let mut rows = Self::default();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for e in events {
            match index.get(e.stream_id.as_str()) {
                Some(&i) => {
                    rows.version[i] = e.stream_version;
                    rows.count[i] += 1;
                    rows.last_event_type[i] = &e.event_type;
                    rows.last_recorded_at[i] = e.recorded_at;
                    rows.last_seq[i] = e.seq;
                }
                None => {
                    index.insert(&e.stream_id, rows.stream_id.len());
                    rows.stream_id.push(&e.stream_id);
                    rows.ledger.push(&e.ledger);
                    rows.stream_type.push(&e.stream_type);
                    rows.version.push(e.stream_version);
                    rows.count.push(1);
                    rows.last_event_type.push(&e.event_type);
                    rows.first_recorded_at.push(e.recorded_at);
                    rows.last_recorded_at.push(e.recorded_at);
                    rows.last_seq.push(e.seq);
                }
            }
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, stream: &str, version: i64, event_type: &str) -> RecordedEvent {
        let at = DateTime::from_timestamp(1_772_353_800 + seq, 0).expect("a valid time");
        RecordedEvent {
            ledger: "370305".into(),
            seq,
            stream_id: stream.into(),
            stream_type: "household".into(),
            stream_version: version,
            event_id: uuid::Uuid::now_v7(),
            command_id: None,
            event_type: event_type.into(),
            schema_version: 1,
            data: "{}".into(),
            metadata: "{}".into(),
            actor_user: "u".into(),
            actor_role: "GRID_WORKER".into(),
            actor_jurisdiction: "370305".into(),
            correlation_id: None,
            causation_id: None,
            occurred_at: at,
            recorded_at: at,
            county_code: "370305".into(),
            prev_hash: vec![0; 32],
            hash: vec![0; 32],
        }
    }

    /// The batch fold must equal applying the events one by one: first values from a stream's
    /// first event, last values from its last, one row per stream in first-seen order.
    #[test]
    fn a_batch_folds_to_one_row_per_stream_as_event_by_event_application_would() {
        let events = vec![
            event(1, "household-a", 1, "Registered"),
            event(2, "household-b", 4, "VisitRecorded"),
            event(3, "household-a", 2, "VisitRecorded"),
            event(4, "household-a", 3, "AlertRaised"),
        ];
        let rows = StreamRows::fold(&events);
        assert_eq!(rows.stream_id, ["household-a", "household-b"]);
        assert_eq!(rows.version, [3, 4]);
        assert_eq!(rows.count, [3, 1]);
        assert_eq!(rows.last_event_type, ["AlertRaised", "VisitRecorded"]);
        assert_eq!(
            rows.first_recorded_at,
            [events[0].recorded_at, events[1].recorded_at]
        );
        assert_eq!(
            rows.last_recorded_at,
            [events[3].recorded_at, events[1].recorded_at]
        );
        assert_eq!(rows.last_seq, [4, 2]);
    }
}
