//! Connecting to PostgreSQL: migrations run as the administrator; the service runs as the
//! restricted role `dixian_app`, which may only select and insert on the log.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};

/// The migrations of the whole service (event log and read models), embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Applies pending migrations over an administrator connection.
pub async fn migrate(admin: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(admin).await
}

/// What every service connection runs first: act as `dixian_app`, and never sit idle inside a
/// transaction for long.
pub const SESSION_SETUP: &str =
    "set role dixian_app; set idle_in_transaction_session_timeout = '30s'";

/// A pool whose every connection acts as `dixian_app`. Connecting as a more privileged user and
/// dropping to the role keeps set-up to one URL; in production, connect as a login role that is
/// a member of `dixian_app` only, and this is a no-op.
///
/// No ping before handing out a connection (`test_before_acquire`, on by default in sqlx): sqlx
/// already pings every connection when it is returned, so an acquire-time ping only re-checks a
/// connection that was healthy a moment ago, at the price of a round trip to PostgreSQL on every
/// use (a third of the dossier read's database traffic). One broken while idle fails the next
/// statement and is discarded.
pub async fn service_pool(options: PgConnectOptions, max_connections: u32) -> sqlx::Result<PgPool> {
    service_pool_with(options, max_connections, Duration::from_secs(10)).await
}

/// [`service_pool`] whose callers wait at most `acquire_timeout` for a connection, then get
/// `PoolTimedOut` (the request pool answers that as `OVERLOADED`, see [`is_overload`]).
pub async fn service_pool_with(
    options: PgConnectOptions,
    max_connections: u32,
    acquire_timeout: Duration,
) -> sqlx::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(false)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(SESSION_SETUP).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
}

/// Whether every embedded migration has been applied (for `/readyz`).
pub async fn migrations_applied(pool: &PgPool) -> sqlx::Result<bool> {
    let applied: Vec<i64> = match sqlx::query_scalar(
        "select version from public._sqlx_migrations where success order by version",
    )
    .fetch_all(pool)
    .await
    {
        Ok(v) => v,
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => return Ok(false),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => {
            // The service role cannot read the migrations table: fall back to the schema itself.
            let n: i64 = sqlx::query_scalar(
                "select count(*) from information_schema.tables where table_schema = 'es' and table_name = 'event'",
            )
            .fetch_one(pool)
            .await?;
            return Ok(n == 1);
        }
        Err(e) => return Err(e),
    };
    Ok(MIGRATOR.iter().all(|m| applied.contains(&m.version)))
}

/// Whether a database error means "too busy now, the same request may succeed shortly": no
/// pooled connection came free in time, or a lock was not granted within `lock_timeout`.
/// Counted in `dixian_db_overloaded_total`; callers answer `OVERLOADED`, never `INTERNAL`.
pub fn is_overload(e: &sqlx::Error) -> bool {
    let overloaded = match e {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(d) => d.code().as_deref() == Some("55P03"),
        _ => false,
    };
    if overloaded {
        metrics::counter!("dixian_db_overloaded_total").increment(1);
    }
    overloaded
}
