//! `schema.graphql` is the served schema, checked in: this test rewrites it on drift and fails.

use std::path::PathBuf;

use crate::support::TestApp;

#[tokio::test]
async fn the_checked_in_schema_is_the_served_schema() {
    let app = TestApp::spawn().await;
    let served = app.services.schema.sdl();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in != served {
        std::fs::write(&path, &served).unwrap();
        panic!("schema.graphql was out of date and has been rewritten; review and commit it");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn graphiql_health_readiness_and_metrics_are_served() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/graphql").await;
    assert_eq!(status, 200);
    assert!(body.contains("graphiql"), "GraphiQL page on GET");
    assert_eq!(app.get("/healthz").await, (200, "ok".into()));
    assert_eq!(app.get("/readyz").await, (200, "ready".into()));
    let (status, metrics) = app.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("dixian_projection_lag_events")
            || metrics.is_empty()
            || metrics.contains('#')
    );
    app.shutdown().await;
}
