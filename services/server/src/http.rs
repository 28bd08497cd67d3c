//! The HTTP surface: `/graphql` (POST; GraphiQL on GET), `/healthz`, `/readyz`, `/metrics`.

use std::future::Future;
use std::net::SocketAddr;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use tokio::net::TcpListener;

use crate::Services;

/// Largest request body accepted (a `submitBatch` of offline captures fits well inside).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

#[derive(Clone)]
struct AppState {
    services: Services,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
}

pub fn router(services: Services) -> Router {
    let state = AppState {
        services,
        metrics: crate::metrics_handle(),
    };
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

async fn graphql(
    State(s): State<AppState>,
    headers: HeaderMap,
    req: GraphQLRequest,
) -> GraphQLResponse {
    let auth_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let caller = s.services.authenticate(auth_header).await;
    let mut req = req.into_inner();
    s.services.parsed.prepare(&mut req);
    let mut resp = s.services.schema.execute(req.data(caller)).await;
    dixian_api::error::code_coercion_errors(&mut resp);
    resp.into()
}

async fn graphiql() -> impl IntoResponse {
    Html(GraphiQLSource::build().endpoint("/graphql").finish())
}

/// Ready when the schema is migrated and nothing is stopped; `503 degraded: …` names every
/// projection and reactor stopped at an event (their lists or reactions no longer move there),
/// so a stop is seen by whatever watches readiness, not only by whoever reads the logs.
async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    match dixian_store::db::migrations_applied(&s.services.pool).await {
        Ok(true) => {}
        Ok(false) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "migrations not applied".into(),
            );
        }
        Err(_) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "database unreachable".into(),
            );
        }
    }
    let (Ok(projections), Ok(reactions)) = (
        s.services.runner.blocked("").await,
        s.services.reactors.stuck("").await,
    ) else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable".into(),
        );
    };
    let mut reasons: Vec<String> = projections
        .iter()
        .map(|b| {
            format!(
                "projection {} stopped in ledger {} at event {}{}: {}",
                b.projection,
                b.ledger,
                b.seq,
                b.event_type
                    .as_deref()
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default(),
                b.error
            )
        })
        .collect();
    reasons.extend(
        reactions
            .iter()
            .filter(|r| r.error_code == "BLOCKED")
            .map(|r| {
                format!(
                    "reactor {} stopped in ledger {} at event {}: {}",
                    r.reactor, r.ledger, r.seq, r.error_message
                )
            }),
    );
    if reasons.is_empty() {
        (StatusCode::OK, "ready".to_owned())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("degraded: {}", reasons.join("; ")),
        )
    }
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    // Connections as of the scrape, per pool (the time-outs are the counter
    // `dixian_db_overloaded_total`). sqlx does not expose its queue of waiters; a request
    // waiting longer than DIXIAN_DB_ACQUIRE_TIMEOUT_MS shows there.
    for (name, pool) in [
        ("requests", &s.services.pool),
        ("background", &s.services.background),
    ] {
        let open = pool.size() as f64;
        let idle = pool.num_idle() as f64;
        let max = f64::from(pool.options().get_max_connections());
        metrics::gauge!("dixian_db_connections", "pool" => name, "state" => "in_use")
            .set(open - idle);
        metrics::gauge!("dixian_db_connections", "pool" => name, "state" => "idle").set(idle);
        metrics::gauge!("dixian_db_connections_max", "pool" => name).set(max);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
}

/// Serves until `shutdown` resolves; in-flight requests finish before this returns.
pub async fn serve(
    listener: TcpListener,
    services: Services,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    axum::serve(listener, router(services))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested: finishing in-flight work");
}
