//! The `dixian` server: configuration, the database (external or embedded), the HTTP surface
//! (`/graphql`, `/healthz`, `/readyz`, `/metrics`) and graceful shutdown. The binary in
//! `main.rs` is the CLI over these pieces; end-to-end tests start the same pieces in-process.

#![forbid(unsafe_code)]

pub mod config;
/// The demo district, from its own crate (kept at this path for the CLI and the tests).
pub use dixian_demo as demo;
pub mod embedded;
pub mod http;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use dixian_api::{ApiContext, ApiSchema, Auth, Limits};
use dixian_commands::{Executor, Reactors};
use dixian_projections::Runner;
use dixian_store::{EventStore, GroupCommitConfig, db};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::sync::watch;

pub use config::Config;
pub use embedded::EmbeddedPostgres;

/// The database the server talks to: an external server, or the embedded private cluster.
pub struct Database {
    pub admin_url: String,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Uses `DATABASE_URL` when set; otherwise starts the embedded cluster and creates the
    /// `dixian` database in it.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        if let Some(url) = &config.database_url {
            return Ok(Self {
                admin_url: url.clone(),
                embedded: None,
            });
        }
        let pg = EmbeddedPostgres::start(&config.data_dir)?;
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&pg.maintenance_url())
            .await
            .context("cannot connect to the embedded PostgreSQL")?;
        let exists: bool = sqlx::query_scalar(
            "select exists (select 1 from pg_database where datname = 'dixian')",
        )
        .fetch_one(&mut conn)
        .await?;
        if !exists {
            sqlx::query("create database dixian")
                .execute(&mut conn)
                .await?;
        }
        Ok(Self {
            admin_url: pg.url(),
            embedded: Some(pg),
        })
    }

    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// Stops the embedded cluster, if any.
    pub fn stop(&self) {
        if let Some(pg) = &self.embedded {
            pg.stop();
        }
    }

    pub fn connect_options(&self) -> anyhow::Result<PgConnectOptions> {
        self.admin_url
            .parse()
            .context("DATABASE_URL is not a valid PostgreSQL URL")
    }

    /// An administrator pool (migrations, CLI maintenance).
    pub async fn admin_pool(&self) -> anyhow::Result<PgPool> {
        PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(self.connect_options()?)
            .await
            .context("cannot connect to PostgreSQL (check DATABASE_URL)")
    }
}

/// The running service minus HTTP: pools, store, projections, schema.
#[derive(Clone)]
pub struct Services {
    /// The request pool.
    pub pool: PgPool,
    /// The projections' and reactors' pool.
    pub background: PgPool,
    pub store: EventStore,
    pub runner: Runner,
    /// The reactors ("when X is recorded, do Y"), running beside the projections.
    pub reactors: Reactors,
    pub schema: ApiSchema,
    pub auth: Auth,
    /// What resolvers share; also used to confirm callers and by the CLI and demo loader.
    pub api: ApiContext,
    /// Parsed query documents by query text (see `dixian_api::parse_cache`).
    pub parsed: Arc<dixian_api::parse_cache::ParsedQueries>,
    stop: Arc<watch::Sender<bool>>,
    tasks: Arc<tokio::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Services {
    /// Migrates, connects as the service role, prepares and starts the projections.
    pub async fn start(database: &Database, config: &Config) -> anyhow::Result<Self> {
        let admin = database.admin_pool().await?;
        db::migrate(&admin).await.context("migrations failed")?;
        admin.close().await;
        let pool = db::service_pool_with(
            database.connect_options()?,
            config.max_connections,
            config.acquire_timeout,
        )
        .await
        .context("cannot connect as the service role dixian_app")?;
        // Projections and reactors on connections of their own (patient: a wait there delays
        // a list, never answers a client).
        let background =
            db::service_pool(database.connect_options()?, config.background_connections)
                .await
                .context("cannot connect as the service role dixian_app")?;
        let mut store = EventStore::new(pool.clone());
        if config.group_commit {
            store = store.with_group_commit(GroupCommitConfig::default());
        }
        let runner = Runner::new(pool.clone(), dixian_projections::all())
            .with_background(background.clone());
        runner
            .prepare()
            .await
            .context("cannot create the read-model schemas")?;
        let exec = Executor::new(store.clone(), pool.clone());
        let reactors = Reactors::standard(exec.clone())
            .with_background(Executor::new(store.clone(), background.clone()));
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = runner.spawn(store.commits(), stop_rx.clone());
        tasks.extend(reactors.spawn(store.commits(), stop_rx));
        let auth = Auth::new(config.jwt_secret.as_bytes())
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        let pii = dixian_api::pii::PiiKeys::from_secret(&config.pii_key)
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        let api = ApiContext {
            store: store.clone(),
            exec,
            reactors: reactors.clone(),
            runner: runner.clone(),
            pool: pool.clone(),
            anchor_key: config.anchor_key.clone(),
            pii,
            folds: Arc::new(dixian_api::fold_cache::Folds::new(
                config.fold_cache,
                dixian_store::probe::ProbePool::new(
                    database.connect_options()?,
                    (config.max_connections as usize / 2).max(2),
                ),
            )),
        };
        dixian_api::policy::ensure_shandong_defaults(&api)
            .await
            .map_err(|e| {
                anyhow::anyhow!("installing the Shandong policy defaults: {}", e.message())
            })?;
        let schema = dixian_api::build_schema(
            api.clone(),
            Limits {
                introspection: config.introspection,
                ..Limits::default()
            },
        );
        Ok(Self {
            pool,
            background,
            store,
            runner,
            reactors,
            schema,
            auth,
            api,
            parsed: Arc::default(),
            stop: Arc::new(stop_tx),
            tasks: Arc::new(tokio::sync::Mutex::new(tasks)),
        })
    }

    /// The caller of a request: a valid token whose claims the user's stream still confirms.
    pub async fn authenticate(
        &self,
        header: Option<&str>,
    ) -> Result<dixian_api::Caller, dixian_api::ApiError> {
        let claimed = self.auth.from_header(header)?;
        dixian_api::user::confirm_caller(&self.api, claimed).await
    }

    /// Finishes queued commands, stops the projections and reactors and closes the pool. A
    /// reaction cut off here is not lost: its reactor's checkpoint has not passed the event, so
    /// the next start issues it again, under the same derived command id.
    pub async fn shutdown(&self) {
        self.store.shutdown(Duration::from_secs(15)).await;
        let _ = self.stop.send(true);
        for t in self.tasks.lock().await.drain(..) {
            let _ = t.await;
        }
        self.pool.close().await;
        self.background.close().await;
    }
}

/// Installs the Prometheus recorder once per process.
pub fn metrics_handle() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .install_recorder()
                .expect("the metrics recorder is installed once")
        })
        .clone()
}
