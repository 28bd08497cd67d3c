//! `schema.graphql` is the served schema, checked in. On drift the test fails and writes the
//! served schema beside it (`schema.graphql.new`), never over it, so a second run fails too;
//! `UPDATE_SCHEMA=1` writes it over the checked-in file instead (then review and commit it).

use std::path::PathBuf;

use crate::support::TestApp;

#[tokio::test]
async fn the_checked_in_schema_is_the_served_schema() {
    let app = TestApp::spawn().await;
    let served = app.services.schema.sdl();
    app.shutdown().await;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let beside = path.with_extension("graphql.new");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in == served {
        let _ = std::fs::remove_file(&beside);
        return;
    }
    if std::env::var("UPDATE_SCHEMA").as_deref() == Ok("1") {
        std::fs::write(&path, &served).unwrap();
        return;
    }
    std::fs::write(&beside, &served).unwrap();
    panic!(
        "schema.graphql is not the served schema; the served one is in {} \
         (diff them, then run with UPDATE_SCHEMA=1 to take it)",
        beside.display()
    );
}

#[tokio::test]
async fn graphiql_health_readiness_and_metrics_are_served() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/graphql").await;
    assert_eq!(status, 200);
    assert!(body.contains("graphiql"), "GraphiQL page on GET");
    assert_eq!(app.get("/healthz").await, (200, "ok".into()));
    assert_eq!(app.get("/readyz").await, (200, "ready".into()));
    // A user's stream opens the county's ledger: the runner then reports its lag there.
    app.token(dixian_domain::Role::CountyOfficer, "370305")
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, metrics) = app.get("/metrics").await;
        assert_eq!(status, 200);
        let missing: Vec<&str> = [
            "dixian_projection_lag_events{",
            "dixian_db_connections{",
            "dixian_db_connections_max{",
        ]
        .into_iter()
        .filter(|series| !has_value(&metrics, series))
        .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/metrics lacks {missing:?}:\n{metrics}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.shutdown().await;
}

/// Whether a Prometheus exposition has a sample of `series` (a name with its `{`) with a number.
fn has_value(exposition: &str, series: &str) -> bool {
    exposition.lines().any(|line| {
        line.starts_with(series)
            && line
                .rsplit_once(' ')
                .is_some_and(|(_, v)| v.parse::<f64>().is_ok())
    })
}
