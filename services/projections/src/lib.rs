//! Read models derived from the event log, and the machinery that keeps them current.
//!
//! Each projection owns one PostgreSQL schema named after it and folds ledger feeds into its
//! tables. The [`runner`] follows every ledger's feed per projection, applies a batch and moves
//! the checkpoint in the same transaction, so a crash never loses or double-applies an event.
//! [`rebuild`] replays from seq 0 into fresh tables and switches over atomically.
//!
//! What this crate does not do: decide anything (the domain does), or write to the log.

#![forbid(unsafe_code)]

pub mod casework;
pub mod feed;
pub mod rebuild;
pub mod runner;
pub mod stream_index;

use std::sync::Arc;

use dixian_store::{BoxFuture, RecordedEvent};
use sqlx::PgConnection;

pub use feed::Progress;
pub use runner::Runner;

/// Why applying an event to a read model failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event {seq} ({event_type}) does not decode: {reason}")]
    Decode {
        seq: i64,
        event_type: String,
        reason: String,
    },
}

/// A read model. Its tables live in the schema named `name()`; DDL and `apply` use unqualified
/// table names, and the runner sets the search path, which is what lets `rebuild` fill a fresh
/// copy of the tables with the same code.
pub trait Projection: Send + Sync + 'static {
    /// Unique, a valid SQL identifier; also the schema name.
    fn name(&self) -> &'static str;
    /// `create table` statements (unqualified names).
    fn tables(&self) -> &'static [&'static str];
    /// Folds one event into the tables. Must be deterministic: rebuilding from seq 0 has to give
    /// exactly the live tables.
    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a RecordedEvent,
    ) -> BoxFuture<'a, Result<(), ProjectionError>>;

    /// Folds a run of consecutive events of one ledger (in seq order) into the tables; the
    /// runner and `rebuild` call this. The default applies them one by one. A projection may
    /// override it to do a batch's work in a few statements instead of a few per event (one
    /// round trip per event caps a rebuild at a few thousand events per second); it must leave
    /// exactly the tables that `apply` on each event in turn would.
    fn apply_batch<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [RecordedEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async move {
            for e in events {
                self.apply(&mut *conn, e).await?;
            }
            Ok(())
        })
    }
}

/// The projections the service runs.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(stream_index::StreamIndex),
        Arc::new(casework::Casework),
    ]
}

/// Creates a projection's schema and tables if missing (as the service role).
pub async fn ensure_schema(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "create schema if not exists {schema}"
    )))
    .execute(&mut *tx)
    .await?;
    set_search_path(&mut tx, schema).await?;
    for ddl in projection.tables() {
        let ddl = ddl.replacen("create table ", "create table if not exists ", 1);
        sqlx::query(sqlx::AssertSqlSafe(ddl))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Points unqualified names at a projection's schema for the rest of the transaction.
pub(crate) async fn set_search_path(
    conn: &mut PgConnection,
    schema: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("select set_config('search_path', $1, true)")
        .bind(format!("{schema}, public"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A stable digest of a table's contents, for comparing a rebuild with the live tables.
pub async fn table_digest(
    conn: &mut PgConnection,
    qualified: &str,
) -> Result<(i64, String), sqlx::Error> {
    let row: (i64, Option<String>) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select count(*), md5(string_agg(t::text, E'\\n' order by t::text)) from {qualified} t"
    )))
    .fetch_one(&mut *conn)
    .await?;
    Ok((row.0, row.1.unwrap_or_default()))
}
