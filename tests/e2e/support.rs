//! `TestApp`: the whole service on port 0 with a fresh database, and a GraphQL client.

use std::time::Duration;

use chrono::Utc;
use dixian_api::Caller;
use dixian_domain::{RegionCode, Role};
use dixian_server::{Config, Database, Services, http};
use serde_json::{Value, json};
use sqlx::Connection;
use uuid::Uuid;

pub struct TestApp {
    pub base: String,
    pub services: Services,
    pub client: reqwest::Client,
    db_name: String,
    /// The first server of a database drops it at shutdown; one started [`TestApp::beside`] it
    /// does not.
    owns_db: bool,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a PostgreSQL server (tests/run.sh sets it)")
}

impl TestApp {
    /// Creates a fresh database, migrates it, and serves the app on 127.0.0.1:0.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// [`spawn`](Self::spawn) with settings changed from the test defaults.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        let server = server_url();
        let name = format!("dixian_e2e_{}", Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        Self::serve(name, true, configure).await
    }

    /// A second server process on the same database (its own pool, caches, group-commit
    /// writer and projection runner), as a deployment with several instances has.
    pub async fn beside(&self) -> Self {
        Self::serve(self.db_name.clone(), false, |_| {}).await
    }

    async fn serve(name: String, owns_db: bool, configure: impl FnOnce(&mut Config)) -> Self {
        let db_url = with_database(&server_url(), &name);
        let mut config = Config::from_env().unwrap();
        config.database_url = Some(db_url);
        config.jwt_secret = "e2e-secret-0123456789abcdef".into();
        config.pii_key = "e2e-pii-key-0123456789abcdef".into();
        config.max_connections = 8;
        configure(&mut config);
        let database = Database::open(&config).await.unwrap();
        let services = Services::start(&database, &config).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn({
            let services = services.clone();
            async move {
                http::serve(listener, services, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            }
        });
        Self {
            base,
            services,
            client: reqwest::Client::new(),
            db_name: name,
            owns_db,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// A bearer token for a new user with this role and jurisdiction, registered in the log
    /// the way `dixian user-add` does it.
    pub async fn token(&self, role: Role, jurisdiction: &str) -> String {
        let jurisdiction = RegionCode::parse(jurisdiction).unwrap();
        let id = Uuid::now_v7();
        let system = dixian_api::user::system_caller(&jurisdiction);
        dixian_api::user::register_user(
            &self.services.api,
            &system,
            id,
            id,
            "测试用户",
            role,
            &jurisdiction,
        )
        .await
        .unwrap_or_else(|e| panic!("{}", e.message()));
        let caller = Caller {
            user_id: id,
            role,
            jurisdiction,
        };
        self.services
            .auth
            .issue(&caller, Utc::now(), Utc::now() + chrono::Duration::hours(1))
            .unwrap()
    }

    /// POSTs a GraphQL document; returns the whole JSON response.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        resp.json().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
        self.services.shutdown().await;
        if !self.owns_db {
            return;
        }
        if let Ok(mut admin) = sqlx::PgConnection::connect(&server_url()).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "drop database if exists {} with (force)",
                self.db_name
            )))
            .execute(&mut admin)
            .await;
        }
    }
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(resp: &Value) -> Option<String> {
    resp["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned)
}
