//! The bench's own database: created fresh for each run (so no figure depends on what an
//! earlier run or a test left behind), migrated like production, and dropped at the end.

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result};
use dixian_store::{EventStore, GroupCommitConfig, LedgerId, db};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

/// The county whose ledger every scenario writes to (Linzi District, Zibo).
pub const LEDGER: &str = "370305";

/// A fresh database with an administrator pool and a service-role pool.
pub struct BenchDb {
    pub name: String,
    server: PgConnectOptions,
    /// Connection options for the bench database (administrator).
    pub options: PgConnectOptions,
    /// Superuser pool: migrations, CHECKPOINT, VACUUM, the SQL verifier, the raw table.
    pub admin: PgPool,
    /// Pool acting as `dixian_app`, sized like the server's (`DIXIAN_DB_CONNECTIONS`).
    pub service: PgPool,
}

impl BenchDb {
    /// Creates `dixian_bench_<time>_<pid><suffix>`, migrates it and opens the ledger. With
    /// `explain_ms`, service connections log the plan of every statement slower than that to
    /// the server log (auto_explain), for profiling.
    pub async fn create(
        url: &str,
        suffix: &str,
        service_connections: u32,
        explain_ms: Option<u32>,
    ) -> Result<Self> {
        let server = PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid URL")?;
        let name = format!(
            "dixian_bench_{}_{}{suffix}",
            chrono::Utc::now().format("%Y%m%d%H%M%S"),
            std::process::id()
        );
        let mut conn = PgConnection::connect_with(&server)
            .await
            .with_context(|| format!("cannot connect to {url}"))?;
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;

        let options = server.clone().database(&name);
        match Self::prepare(
            name.clone(),
            server.clone(),
            options,
            service_connections,
            explain_ms,
        )
        .await
        {
            Ok(bench) => Ok(bench),
            Err(e) => {
                // Leave nothing behind when set-up fails half way.
                drop_database(&server, &name).await?;
                Err(e)
            }
        }
    }

    async fn prepare(
        name: String,
        server: PgConnectOptions,
        options: PgConnectOptions,
        service_connections: u32,
        explain_ms: Option<u32>,
    ) -> Result<Self> {
        let admin = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await?;
        db::migrate(&admin).await.context("migrating")?;
        let service = match explain_ms {
            None => db::service_pool(options.clone(), service_connections).await?,
            Some(ms) => explaining_pool(options.clone(), service_connections, ms).await?,
        };
        let bench = Self {
            name,
            server,
            options,
            admin,
            service,
        };
        bench
            .direct_store()
            .open_ledger(&LedgerId::parse(LEDGER)?)
            .await?;
        Ok(bench)
    }

    /// A store that appends each command in its own transaction (group commit off).
    pub fn direct_store(&self) -> EventStore {
        EventStore::new(self.service.clone())
    }

    /// A store with per-ledger group commit, configured as the server does.
    pub fn group_commit_store(&self) -> EventStore {
        EventStore::new(self.service.clone()).with_group_commit(GroupCommitConfig::default())
    }

    /// Flushes dirty buffers so a cell does not pay for the previous cell's checkpoint.
    pub async fn checkpoint(&self) -> Result<()> {
        sqlx::query("checkpoint").execute(&self.admin).await?;
        Ok(())
    }

    /// VACUUM ANALYZE after a bulk load, so autovacuum does not start in the middle of a
    /// measurement and the planner knows the table sizes.
    pub async fn vacuum(&self) -> Result<()> {
        let mut conn = self.admin.acquire().await?;
        sqlx::query("vacuum analyze").execute(&mut *conn).await?;
        Ok(())
    }

    /// Events currently in the bench ledger.
    pub async fn ledger_len(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("select last_seq from es.ledger where ledger = $1")
                .bind(LEDGER)
                .fetch_one(&self.admin)
                .await?,
        )
    }

    /// Closes the pools and drops the database unless asked to keep it.
    pub async fn finish(self, keep: bool) -> Result<()> {
        self.service.close().await;
        self.admin.close().await;
        if keep {
            eprintln!("kept database {}", self.name);
            return Ok(());
        }
        drop_database(&self.server, &self.name).await
    }
}

async fn drop_database(server: &PgConnectOptions, name: &str) -> Result<()> {
    let mut conn = PgConnection::connect_with(server).await?;
    // Idle pool connections may take a moment to disappear; FORCE ends them.
    let drop = format!("drop database if exists {name} with (force)");
    tokio::time::timeout(
        Duration::from_secs(60),
        sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut conn),
    )
    .await
    .context("dropping the bench database timed out")??;
    conn.close().await?;
    Ok(())
}

/// `db::service_pool` plus auto_explain: LOAD needs the superuser, so it runs before the
/// connection drops to `dixian_app`. Plans go to the server log.
async fn explaining_pool(options: PgConnectOptions, max: u32, ms: u32) -> Result<PgPool> {
    let setup = format!(
        "load 'auto_explain'; set auto_explain.log_min_duration = {ms}; \
         set auto_explain.log_analyze = on; set auto_explain.log_triggers = on; \
         set auto_explain.log_nested_statements = on; {}",
        db::SESSION_SETUP
    );
    Ok(PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _meta| {
            let setup = setup.clone();
            Box::pin(async move {
                sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
                    .execute(conn)
                    .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await?)
}
