//! Projection runner and rebuild against a real PostgreSQL.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use dixian_projections::rebuild::{rebuild, replay_into};
use dixian_projections::stream_index::StreamIndex;
use dixian_projections::{Projection, ProjectionError, Runner, table_digest};
use dixian_store::{
    Actor, AppendRequest, BoxFuture, EventStore, ExpectedVersion, LedgerId, NewEvent,
    RecordedEvent, db,
};
use sqlx::PgConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

async fn store(options: PgConnectOptions) -> EventStore {
    let pool = db::service_pool(options, 10).await.unwrap();
    let store = EventStore::new(pool);
    store
        .open_ledger(&LedgerId::parse("370305").unwrap())
        .await
        .unwrap();
    store
        .open_ledger(&LedgerId::parse("370303").unwrap())
        .await
        .unwrap();
    store
}

async fn append_some(store: &EventStore, n: usize) {
    for i in 0..n {
        let ledger = if i % 4 == 0 { "370303" } else { "370305" };
        store
            .append(AppendRequest {
                claims: Vec::new(),
                ledger: LedgerId::parse(ledger).unwrap(),
                stream_id: format!("household-{ledger}-{}", i % 7),
                stream_type: "household".into(),
                expected: ExpectedVersion::Any,
                command_id: None,
                fingerprint: None,
                actor: Actor::system(),
                correlation_id: None,
                causation_id: None,
                events: (0..(i % 3 + 1))
                    .map(|k| {
                        NewEvent::new(
                            Uuid::now_v7(),
                            format!("E{}", (i + k) % 5),
                            &serde_json::json!({ "i": i }),
                            Utc::now(),
                        )
                        .unwrap()
                    })
                    .collect(),
            })
            .await
            .unwrap();
    }
}

async fn digests(conn: &mut PgConnection, schema: &str) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for t in ["stream_summary", "event_type_count"] {
        out.push(table_digest(conn, &format!("{schema}.{t}")).await.unwrap());
    }
    out
}

/// Has its database session killed in the middle of a batch (by a superuser session: the
/// projector's own role may not do it): a projector crash.
struct CrashOnce {
    armed: AtomicBool,
    at_seq: i64,
    killer: sqlx::PgPool,
}

impl Projection for CrashOnce {
    fn name(&self) -> &'static str {
        "stream_index"
    }
    fn tables(&self) -> &'static [&'static str] {
        StreamIndex.tables()
    }
    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        e: &'a RecordedEvent,
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async move {
            StreamIndex.apply(&mut *conn, e).await?;
            if e.ledger == "370305"
                && e.seq == self.at_seq
                && self.armed.swap(false, Ordering::SeqCst)
            {
                let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
                    .fetch_one(&mut *conn)
                    .await?;
                sqlx::query("select pg_terminate_backend($1)")
                    .bind(pid)
                    .execute(&self.killer)
                    .await?;
                sqlx::query("select 1").execute(&mut *conn).await?;
            }
            Ok(())
        })
    }
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn after_a_crash_mid_batch_the_read_model_equals_a_clean_rebuild(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let killer = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await
        .unwrap();
    let store = store(options).await;
    append_some(&store, 60).await;
    let crashing = Arc::new(CrashOnce {
        armed: AtomicBool::new(true),
        at_seq: 20,
        killer,
    });
    let runner = Runner::new(store.pool().clone(), vec![crashing.clone()]);
    runner.prepare().await.unwrap();
    assert!(
        runner.catch_up().await.is_err(),
        "the crash aborts the step"
    );
    let mut conn = store.pool().acquire().await.unwrap();
    let checkpoint: Option<i64> = sqlx::query_scalar(
        "select seq from es.checkpoint where projection = 'stream_index' and ledger = '370305'",
    )
    .fetch_optional(&mut *conn)
    .await
    .unwrap();
    assert_eq!(checkpoint, Some(0), "nothing of the crashed batch was kept");
    let partial: i64 = sqlx::query_scalar(
        "select count(*) from stream_index.stream_summary where ledger = '370305'",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(partial, 0, "no row of the crashed batch survives");
    let other: i64 = sqlx::query_scalar(
        "select count(*) from stream_index.stream_summary where ledger = '370303'",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(
        other, 7,
        "the other ledger's step committed before the crash"
    );

    // Restart: a fresh runner picks up from the checkpoint.
    let runner = Runner::new(store.pool().clone(), vec![Arc::new(StreamIndex)]);
    runner.catch_up().await.unwrap();
    replay_into(store.pool(), &StreamIndex, "scratch_rebuild")
        .await
        .unwrap();
    assert_eq!(
        digests(&mut conn, "stream_index").await,
        digests(&mut conn, "scratch_rebuild").await
    );
    let counted: i64 =
        sqlx::query_scalar("select sum(n)::bigint from stream_index.event_type_count")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    let stored: i64 = sqlx::query_scalar("select count(*) from es.event")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(counted, stored, "every event applied exactly once");
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn rebuilding_while_the_runner_follows_yields_tables_identical_to_the_live_ones(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let store = store(options).await;
    let runner = Runner::new(store.pool().clone(), vec![Arc::new(StreamIndex)]);
    runner.prepare().await.unwrap();
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let tasks = runner.spawn(store.commits(), stop);
    append_some(&store, 40).await;
    // Writes keep arriving during the rebuild.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { append_some(&store, 40).await })
    };
    let mut conn = store.pool().acquire().await.unwrap();
    let before = digests(&mut conn, "stream_index").await;
    let report = rebuild(store.pool(), &StreamIndex).await.unwrap();
    assert!(report.events >= 40);
    writer.await.unwrap();
    let head: i64 = sqlx::query_scalar("select last_seq from es.ledger where ledger = '370305'")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert!(
        runner
            .wait_for("stream_index", "370305", head, Duration::from_secs(10))
            .await
            .unwrap(),
        "read-your-writes wait reaches the head"
    );
    let live = digests(&mut conn, "stream_index").await;
    assert_ne!(before, live);
    replay_into(store.pool(), &StreamIndex, "scratch_rebuild")
        .await
        .unwrap();
    assert_eq!(
        live,
        digests(&mut conn, "scratch_rebuild").await,
        "live tables equal a replay from zero"
    );
    stop_tx.send(true).unwrap();
    for t in tasks {
        t.await.unwrap();
    }
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn waiting_for_a_position_the_projection_never_reaches_times_out(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let store = store(options).await;
    let runner = Runner::new(store.pool().clone(), vec![Arc::new(StreamIndex)]);
    runner.prepare().await.unwrap();
    let started = std::time::Instant::now();
    let reached = runner
        .wait_for("stream_index", "370305", 5, Duration::from_millis(200))
        .await
        .unwrap();
    assert!(!reached);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

/// Refuses one event of ledger 370305 (as a projection refuses a body it cannot apply) until
/// it is "fixed".
struct RefusesOne {
    at_seq: i64,
    fixed: AtomicBool,
}

impl Projection for RefusesOne {
    fn name(&self) -> &'static str {
        "stream_index"
    }
    fn tables(&self) -> &'static [&'static str] {
        StreamIndex.tables()
    }
    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        e: &'a RecordedEvent,
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async move {
            if e.ledger == "370305" && e.seq == self.at_seq && !self.fixed.load(Ordering::SeqCst) {
                // A failure caused by the event itself: the same every time it is applied.
                sqlx::query("select 1 / 0").execute(&mut *conn).await?;
            }
            StreamIndex.apply(&mut *conn, e).await
        })
    }
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn an_event_that_cannot_be_applied_stops_its_ledger_there_visibly_until_fixed(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let store = store(options).await;
    append_some(&store, 60).await;
    let refusing = Arc::new(RefusesOne {
        at_seq: 20,
        fixed: AtomicBool::new(false),
    });
    let runner = Runner::new(store.pool().clone(), vec![refusing.clone()]);
    runner.prepare().await.unwrap();
    let err = runner.catch_up().await.unwrap_err();
    assert!(err.to_string().contains("division by zero"), "{err}");

    // It stops exactly at the culprit: everything before it is applied, nothing after.
    let checkpoint = |ledger: &'static str| {
        let pool = store.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select seq from es.checkpoint where projection = 'stream_index' and ledger = $1",
            )
            .bind(ledger)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(checkpoint("370305").await, 19);
    let head_303: i64 =
        sqlx::query_scalar("select last_seq from es.ledger where ledger = '370303'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(
        checkpoint("370303").await,
        head_303,
        "another county's lists keep moving"
    );

    // Listed with the event, its type, the error and the tries, for the region and above it.
    let blocked = runner.blocked("370305").await.unwrap();
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    let b = &blocked[0];
    assert_eq!(
        (b.projection.as_str(), b.ledger.as_str(), b.seq),
        ("stream_index", "370305", 20)
    );
    assert!(b.event_type.is_some() && b.stream_id.is_some());
    assert!(b.error.contains("division by zero"), "{}", b.error);
    assert!(b.attempts >= 1);
    assert_eq!(
        runner.blocked("37").await.unwrap().len(),
        1,
        "a city sees it"
    );
    assert!(
        runner.blocked("370303").await.unwrap().is_empty(),
        "a neighbour does not"
    );

    // Trying again stops at the same place and counts the try.
    assert!(runner.catch_up().await.is_err());
    let again = runner.blocked("370305").await.unwrap();
    assert_eq!(again[0].seq, 20);
    assert!(again[0].attempts > b.attempts);
    assert_eq!(again[0].since, b.since, "stopped since the first failure");

    // Fixed: the next step goes through, the stop is cleared, and the tables equal a replay.
    refusing.fixed.store(true, Ordering::SeqCst);
    runner.catch_up().await.unwrap();
    assert!(runner.blocked("").await.unwrap().is_empty());
    let head_305: i64 =
        sqlx::query_scalar("select last_seq from es.ledger where ledger = '370305'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(checkpoint("370305").await, head_305);
    replay_into(store.pool(), &StreamIndex, "scratch_rebuild")
        .await
        .unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    assert_eq!(
        digests(&mut conn, "stream_index").await,
        digests(&mut conn, "scratch_rebuild").await
    );
}
