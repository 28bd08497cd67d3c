//! The index of streams: type, version, event count and times per stream. Generic over every
//! stream type; the audit views and `/metrics` use it.

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
}
