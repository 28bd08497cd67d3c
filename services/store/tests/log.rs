//! The event log's correctness suite, against a real PostgreSQL (each test its own database).

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use dixian_store::hash::CanonicalEvent;
use dixian_store::read::{self, StreamRead};
use dixian_store::verify::{self, Damage};
use dixian_store::{
    Actor, AppendError, AppendRequest, Claim, EventStore, ExpectedVersion, GroupCommitConfig,
    LedgerId, NewEvent, db,
};
use rand::Rng;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool, Row};
use uuid::Uuid;

const LINZI: &str = "370305";

struct Fixture {
    store: EventStore,
    admin: PgPool,
    options: PgConnectOptions,
}

async fn fixture(options: PgConnectOptions) -> Fixture {
    let admin = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.clone())
        .await
        .unwrap();
    let pool = db::service_pool(options.clone(), 20).await.unwrap();
    let store = EventStore::new(pool);
    store.open_ledger(&ledger()).await.unwrap();
    Fixture {
        store,
        admin,
        options,
    }
}

fn ledger() -> LedgerId {
    LedgerId::parse(LINZI).unwrap()
}

fn actor() -> Actor {
    Actor {
        user: "grid-1".into(),
        role: "GRID_WORKER".into(),
        jurisdiction: "370305004201".into(),
    }
}

fn event(kind: &str, n: i64) -> NewEvent {
    NewEvent::new(
        Uuid::now_v7(),
        kind,
        &serde_json::json!({ "n": n, "note": "走访记录" }),
        Utc::now(),
    )
    .unwrap()
}

fn request(stream: &str, expected: ExpectedVersion, events: Vec<NewEvent>) -> AppendRequest {
    AppendRequest {
        claims: Vec::new(),
        ledger: ledger(),
        stream_id: stream.into(),
        stream_type: "household".into(),
        expected,
        command_id: None,
        fingerprint: None,
        actor: actor(),
        correlation_id: None,
        causation_id: None,
        events,
    }
}

async fn event_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from es.event")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Head, max(seq) and count(*) must always agree: the ledger never has a hole.
async fn assert_head_consistent(f: &Fixture) {
    let row = sqlx::query(
        "select l.last_seq, coalesce(max(e.seq), 0) as max_seq, count(e.seq) as n
           from es.ledger l left join es.event e on e.ledger = l.ledger
          where l.ledger = $1 group by l.last_seq",
    )
    .bind(LINZI)
    .fetch_one(&f.admin)
    .await
    .unwrap();
    let (head, max, n): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(head, max, "head and last row disagree");
    assert_eq!(head, n, "the ledger has a hole");
    let mut conn = f.store.pool().acquire().await.unwrap();
    let report = verify::verify_ledger(&mut conn, LINZI).await.unwrap();
    assert!(report.ok(), "chain broken: {report:?}");
}

// ---------------------------------------------------------------------------------------------
// 1. Optimistic concurrency

async fn fifty_writers_one_winner(store: EventStore, f: &Fixture) {
    store
        .append(request(
            "household-a",
            ExpectedVersion::NoStream,
            vec![event("Registered", 0)],
        ))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .append(request(
                    "household-a",
                    ExpectedVersion::Exact(1),
                    vec![event("Visited", i)],
                ))
                .await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(a) => {
                wins += 1;
                assert_eq!(a.stream_version, 2);
            }
            Err(AppendError::Conflict {
                actual, expected, ..
            }) => {
                assert_eq!(actual, 2, "the conflict carries the actual version");
                assert_eq!(expected, "1");
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(wins, 1, "exactly one writer wins");
    let versions: Vec<i64> = sqlx::query_scalar(
        "select stream_version from es.event where stream_id = 'household-a' order by stream_version",
    )
    .fetch_all(&f.admin)
    .await
    .unwrap();
    assert_eq!(versions, vec![1, 2], "versions stay contiguous");
    assert_head_consistent(f).await;
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn fifty_concurrent_appends_with_the_same_expected_version_have_exactly_one_winner(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    fifty_writers_one_winner(f.store.clone(), &f).await;
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn under_group_commit_fifty_concurrent_appends_still_have_exactly_one_winner(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    let store = f
        .store
        .clone()
        .with_group_commit(GroupCommitConfig::default());
    fifty_writers_one_winner(store, &f).await;
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn under_group_commit_a_conflicting_command_fails_alone(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    let store = f
        .store
        .clone()
        .with_group_commit(GroupCommitConfig::default());
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        // Every fifth command claims a stream that "already exists": it must fail alone.
        let expected = if i % 5 == 0 {
            ExpectedVersion::Exact(7)
        } else {
            ExpectedVersion::NoStream
        };
        tasks.push(tokio::spawn(async move {
            store
                .append(request(
                    &format!("household-{i}"),
                    expected,
                    vec![event("Registered", i)],
                ))
                .await
        }));
    }
    let mut ok = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(AppendError::Conflict { .. }) => conflicts += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((ok, conflicts), (32, 8));
    assert_eq!(event_count(&f.admin).await, 32);
    assert_head_consistent(&f).await;
    store.shutdown(Duration::from_secs(5)).await;
    assert!(matches!(
        store
            .append(request(
                "household-late",
                ExpectedVersion::Any,
                vec![event("X", 0)]
            ))
            .await,
        Err(AppendError::ShuttingDown)
    ));
}

// ---------------------------------------------------------------------------------------------
// 2. Idempotency

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn a_retry_storm_of_one_command_id_is_stored_once_with_identical_answers(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    let command_id = Uuid::now_v7();
    let body = serde_json::json!({ "visit": "routine", "findings": "住房安全" });
    let at = Utc::now();
    // Each retry generates fresh event ids, as a phone resending its command would.
    let attempt = move || {
        let mut r = request(
            "household-r",
            ExpectedVersion::NoStream,
            vec![
                NewEvent::new(Uuid::now_v7(), "Registered", &body, at).unwrap(),
                NewEvent::new(Uuid::now_v7(), "VisitRecorded", &body, at).unwrap(),
            ],
        );
        r.command_id = Some(command_id);
        r
    };
    let first = f.store.append(attempt()).await.unwrap();
    assert!(!first.duplicate);
    for _ in 0..5 {
        let again = f.store.append(attempt()).await.unwrap();
        assert!(again.duplicate);
        assert_eq!(
            (
                again.first_seq,
                again.last_seq,
                again.stream_version,
                again.recorded_at
            ),
            (
                first.first_seq,
                first.last_seq,
                first.stream_version,
                first.recorded_at
            )
        );
    }
    let group = f
        .store
        .clone()
        .with_group_commit(GroupCommitConfig::default());
    let mut tasks = Vec::new();
    for i in 0..30 {
        let store = if i % 2 == 0 {
            f.store.clone()
        } else {
            group.clone()
        };
        let req = attempt();
        tasks.push(tokio::spawn(async move { store.append(req).await }));
    }
    for t in tasks {
        let again = t.await.unwrap().unwrap();
        assert!(again.duplicate);
        assert_eq!(again.last_seq, first.last_seq);
    }
    let stored: i64 = sqlx::query_scalar("select count(*) from es.event where command_id = $1")
        .bind(command_id)
        .fetch_one(&f.admin)
        .await
        .unwrap();
    assert_eq!(stored, 2, "the command's two events are stored once");

    let mut other = attempt();
    other.events.pop();
    let err = f.store.append(other).await.unwrap_err();
    assert!(
        matches!(err, AppendError::CommandReused { command_id: c } if c == command_id),
        "{err}"
    );
    assert_head_consistent(&f).await;
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn concurrent_first_attempts_of_one_command_store_it_once(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    let command_id = Uuid::now_v7();
    let at = Utc::now();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = f.store.clone();
        let mut r = request(
            "household-c",
            ExpectedVersion::Any,
            vec![
                NewEvent::new(
                    Uuid::now_v7(),
                    "VisitRecorded",
                    &serde_json::json!({"a": 1}),
                    at,
                )
                .unwrap(),
            ],
        );
        r.command_id = Some(command_id);
        tasks.push(tokio::spawn(async move { store.append(r).await.unwrap() }));
    }
    let answers: Vec<_> = futures_all(tasks).await;
    assert_eq!(answers.iter().filter(|a| !a.duplicate).count(), 1);
    assert!(answers.iter().all(|a| a.last_seq == answers[0].last_seq));
    assert_eq!(event_count(&f.admin).await, 1);
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn the_same_event_ids_without_a_command_id_are_a_duplicate_and_a_partial_overlap_is_refused(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    let events = vec![event("A", 1), event("B", 2)];
    let first = f
        .store
        .append(request("household-e", ExpectedVersion::Any, events.clone()))
        .await
        .unwrap();
    let again = f
        .store
        .append(request("household-e", ExpectedVersion::Any, events.clone()))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(
        (again.first_seq, again.last_seq),
        (first.first_seq, first.last_seq)
    );
    let partial = vec![events[0].clone(), event("C", 3)];
    let err = f
        .store
        .append(request("household-e", ExpectedVersion::Any, partial))
        .await
        .unwrap_err();
    assert!(matches!(err, AppendError::EventIdReused { .. }));
    let foreign = f
        .store
        .append(request("household-f", ExpectedVersion::Any, events))
        .await
        .unwrap_err();
    assert!(matches!(foreign, AppendError::EventIdReused { .. }));
    assert_eq!(event_count(&f.admin).await, 2);
}

// ---------------------------------------------------------------------------------------------
// 3. Gap-free feed under concurrency

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn a_feed_reader_sees_every_committed_event_once_in_order_while_writers_roll_back_at_random(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let pool = f.store.pool().clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut seen: Vec<(i64, Uuid)> = Vec::new();
            let mut after = 0;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let mut conn = pool.acquire().await.unwrap();
                let page = read::read_ledger(&mut conn, LINZI, after, 50)
                    .await
                    .unwrap();
                for e in &page {
                    assert_eq!(
                        e.seq,
                        after + 1,
                        "the feed skipped from {after} to {}",
                        e.seq
                    );
                    after = e.seq;
                    seen.push((e.seq, e.event_id));
                }
                if page.is_empty() {
                    if finished {
                        return seen;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        })
    };
    let mut writers = Vec::new();
    for w in 0..8 {
        let store = f.store.clone();
        writers.push(tokio::spawn(async move {
            let mut committed = Vec::new();
            for i in 0..40 {
                let (rollback, pause) = {
                    let mut rng = rand::thread_rng();
                    (rng.gen_bool(0.3), rng.gen_range(0..3))
                };
                let events = (0..rand::thread_rng().gen_range(1..4))
                    .map(|k| event("Visited", k))
                    .collect::<Vec<_>>();
                let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
                let req = request(
                    &format!("household-w{w}-{}", i % 5),
                    ExpectedVersion::Any,
                    events,
                );
                let mut tx = store.pool().begin().await.unwrap();
                store.append_in(&mut tx, &req).await.unwrap();
                tokio::time::sleep(Duration::from_millis(pause)).await;
                if rollback {
                    tx.rollback().await.unwrap();
                } else {
                    tx.commit().await.unwrap();
                    committed.extend(ids);
                }
            }
            committed
        }));
    }
    let mut committed = HashSet::new();
    for w in writers {
        committed.extend(w.await.unwrap());
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let seqs: Vec<i64> = seen.iter().map(|s| s.0).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "seq order, no holes"
    );
    let ids: HashSet<Uuid> = seen.iter().map(|s| s.1).collect();
    assert_eq!(ids.len(), seen.len(), "no event seen twice");
    assert_eq!(
        ids, committed,
        "every committed event seen, no rolled-back one"
    );
    assert!(!committed.is_empty());
    assert_head_consistent(&f).await;
}

// ---------------------------------------------------------------------------------------------
// 4. Crash mid-append

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn a_backend_killed_mid_append_leaves_no_partial_batch_and_the_retry_succeeds_once(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options.clone()).await;
    f.store
        .append(request(
            "household-k",
            ExpectedVersion::NoStream,
            vec![event("Registered", 0)],
        ))
        .await
        .unwrap();
    let command_id = Uuid::now_v7();
    let at = Utc::now();
    let make = || {
        let mut r = request(
            "household-k",
            ExpectedVersion::Exact(1),
            (0..5)
                .map(|i| {
                    NewEvent::new(
                        Uuid::now_v7(),
                        "IncomeRecorded",
                        &serde_json::json!({"month": i}),
                        at,
                    )
                    .unwrap()
                })
                .collect(),
        );
        r.command_id = Some(command_id);
        r
    };
    let mut victim = sqlx::PgConnection::connect_with(&options).await.unwrap();
    sqlx::query("set role dixian_app")
        .execute(&mut victim)
        .await
        .unwrap();
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut victim)
        .await
        .unwrap();
    let mut tx = victim.begin().await.unwrap();
    f.store.append_in(&mut tx, &make()).await.unwrap();
    let killed: bool = sqlx::query_scalar("select pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&f.admin)
        .await
        .unwrap();
    assert!(killed);
    assert!(
        tx.commit().await.is_err(),
        "the commit of a killed backend must fail"
    );

    assert_eq!(event_count(&f.admin).await, 1, "no partial batch");
    assert_head_consistent(&f).await;
    let retried = f.store.append(make()).await.unwrap();
    assert!(!retried.duplicate, "the first attempt never committed");
    assert_eq!(
        (retried.first_seq, retried.last_seq, retried.stream_version),
        (2, 6, 6)
    );
    assert!(f.store.append(make()).await.unwrap().duplicate);
    assert_eq!(event_count(&f.admin).await, 6);
    assert_head_consistent(&f).await;
}

// ---------------------------------------------------------------------------------------------
// 6. Tampering

async fn ten_events(f: &Fixture) {
    for i in 0..10 {
        let stream = format!("household-t{}", i % 3);
        f.store
            .append(request(
                &stream,
                ExpectedVersion::Any,
                vec![event("Visited", i)],
            ))
            .await
            .unwrap();
    }
}

/// A superuser session with triggers off: what an insider with the keys could do.
async fn tamper(f: &Fixture, sql: &str) {
    let mut conn = sqlx::PgConnection::connect_with(&f.options).await.unwrap();
    sqlx::query("set session_replication_role = replica")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn verify_now(f: &Fixture) -> dixian_store::VerifyReport {
    let mut conn = f.store.pool().acquire().await.unwrap();
    verify::verify_ledger(&mut conn, LINZI).await.unwrap()
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn verify_names_the_row_whose_data_lost_or_changed_one_byte(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    ten_events(&f).await;
    assert!(verify_now(&f).await.ok());
    tamper(
        &f,
        "update es.event set data = replace(data::text, '\"n\":4', '\"n\":5')::json where seq = 5",
    )
    .await;
    let report = verify_now(&f).await;
    let p = report.problem.expect("tampering detected");
    assert_eq!((p.seq, p.damage), (5, Damage::ContentMismatch));
    assert_eq!(report.checked, 4);
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn verify_names_a_deleted_middle_row(_o: PgPoolOptions, options: PgConnectOptions) {
    let f = fixture(options).await;
    ten_events(&f).await;
    tamper(&f, "delete from es.event where seq = 6").await;
    let p = verify_now(&f).await.problem.expect("tampering detected");
    assert_eq!((p.seq, p.damage), (6, Damage::MissingEvent));
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn verify_names_the_first_of_two_swapped_rows(_o: PgPoolOptions, options: PgConnectOptions) {
    let f = fixture(options).await;
    ten_events(&f).await;
    tamper(
        &f,
        "update es.event set seq = 1000 where seq = 3;
         update es.event set seq = 3 where seq = 4;
         update es.event set seq = 4 where seq = 1000;",
    )
    .await;
    let p = verify_now(&f).await.problem.expect("tampering detected");
    assert_eq!(p.seq, 3);
    assert!(matches!(
        p.damage,
        Damage::BrokenLink | Damage::ContentMismatch
    ));
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn verify_names_a_truncated_tail_and_an_anchor_catches_a_rewound_head(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    ten_events(&f).await;
    let anchor = {
        let mut conn = f.store.pool().acquire().await.unwrap();
        verify::take_anchor(&mut conn, LINZI, None).await.unwrap()
    };
    assert_eq!(anchor.seq, 10);
    tamper(&f, "delete from es.event where seq > 7").await;
    let p = verify_now(&f).await.problem.expect("truncation detected");
    assert_eq!((p.seq, p.damage), (8, Damage::MissingEvent));

    // The insider also moves the head back: the chain is consistent again…
    tamper(
        &f,
        "update es.ledger set last_seq = 7, head_hash = (select hash from es.event where seq = 7)",
    )
    .await;
    assert!(verify_now(&f).await.ok());
    // …but not with the head record the auditor kept.
    let mut conn = f.store.pool().acquire().await.unwrap();
    let report = verify::check_anchor(&mut conn, LINZI, anchor.seq, &anchor.head_hash)
        .await
        .unwrap();
    assert_eq!(
        report.problem.map(|p| (p.seq, p.damage)),
        Some((10, Damage::MissingEvent))
    );
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn a_chain_rewritten_end_to_end_passes_verify_but_not_an_earlier_anchor(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    ten_events(&f).await;
    let key = dixian_store::AnchorKey {
        key_id: "audit-2026".into(),
        secret: b"auditor secret".to_vec(),
    };
    let anchor = {
        let mut conn = f.store.pool().acquire().await.unwrap();
        verify::take_anchor(&mut conn, LINZI, Some(&key))
            .await
            .unwrap()
    };
    assert!(key.verify(&anchor), "the anchor's signature checks");
    let mut forged = anchor.clone();
    forged.seq = 9;
    assert!(!key.verify(&forged), "a changed anchor fails its signature");

    // Rewrite row 2 and recompute every hash after it, the head included.
    let mut conn = f.store.pool().acquire().await.unwrap();
    let mut events = read::read_ledger(&mut conn, LINZI, 0, 100).await.unwrap();
    let mut prev = events[0].hash.clone();
    let mut sql = String::new();
    for e in events.iter_mut().skip(1) {
        if e.seq == 2 {
            e.data = r#"{"n":1,"note":"伪造"}"#.into();
        }
        e.prev_hash = prev.clone();
        e.hash = CanonicalEvent::from(&*e).chain_hash(&e.prev_hash).to_vec();
        sql.push_str(&format!(
            "update es.event set data = '{}'::json, prev_hash = '\\x{}', hash = '\\x{}' where seq = {};",
            e.data, hex::encode(&e.prev_hash), hex::encode(&e.hash), e.seq
        ));
        prev = e.hash.clone();
    }
    sql.push_str(&format!(
        "update es.ledger set head_hash = '\\x{}';",
        hex::encode(&prev)
    ));
    tamper(&f, &sql).await;
    assert!(
        verify_now(&f).await.ok(),
        "a full rewrite is self-consistent"
    );
    let report = verify::check_anchor(&mut conn, LINZI, anchor.seq, &anchor.head_hash)
        .await
        .unwrap();
    assert_eq!(
        report.problem.map(|p| (p.seq, p.damage)),
        Some((10, Damage::AnchorMismatch))
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Immutability enforced by PostgreSQL

async fn sql_error_code(f: &Fixture, role: &str, sql: &'static str) -> String {
    let mut conn = sqlx::PgConnection::connect_with(&f.options).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("set role {role}")))
        .execute(&mut conn)
        .await
        .unwrap();
    match sqlx::raw_sql(sql).execute(&mut conn).await {
        Ok(_) => panic!("{role} was allowed to run {sql}"),
        Err(sqlx::Error::Database(e)) => e.code().unwrap_or_default().into_owned(),
        Err(e) => panic!("{e}"),
    }
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn update_delete_and_truncate_are_refused_for_the_service_role_and_the_owner(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    ten_events(&f).await;
    for sql in [
        "update es.event set data = '{}' where seq = 1",
        "delete from es.event where seq = 1",
        "truncate es.event",
        "truncate es.event_370305",
        "update es.command set stream_id = 'x'",
        "delete from es.anchor",
        "delete from es.ledger",
    ] {
        assert_eq!(
            sql_error_code(&f, "dixian_app", sql).await,
            "42501",
            "service role: {sql}"
        );
    }
    for sql in [
        "update es.event set data = '{}' where seq = 1",
        "update es.event_370305 set data = '{}' where seq = 1",
        "delete from es.event where seq = 1",
        "delete from es.event_370305 where seq = 1",
        "truncate es.event",
        "truncate es.event_370305",
        "delete from es.ledger",
        "update es.ledger set last_seq = 0",
        "delete from es.stream",
        "delete from es.command",
    ] {
        let code = sql_error_code(&f, "dixian_owner", sql).await;
        assert!(
            code == "DX900" || code == "DX901",
            "owner: {sql} gave {code}"
        );
    }
    // The service role can move the head only forward, and only the way an append does.
    assert_eq!(
        sql_error_code(&f, "dixian_app", "update es.ledger set last_seq = 1").await,
        "DX901"
    );
    assert_eq!(event_count(&f.admin).await, 10);
    assert_head_consistent(&f).await;
}

// ---------------------------------------------------------------------------------------------
// 8. Time travel

/// A tiny fold: the list of event types in order, which is what any state depends on.
fn fold(events: &[dixian_store::RecordedEvent]) -> Vec<(i64, String)> {
    events
        .iter()
        .map(|e| (e.stream_version, e.data.clone()))
        .collect()
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn the_state_as_known_at_a_time_is_the_fold_of_the_events_recorded_up_to_then(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    let mut cuts: Vec<DateTime<Utc>> = Vec::new();
    for i in 0..6 {
        // A backdated observation: business time three days before the recording.
        let occurred = Utc::now() - chrono::Duration::days(3) + chrono::Duration::hours(i);
        let e = NewEvent::new(
            Uuid::now_v7(),
            "IncomeRecorded",
            &serde_json::json!({"i": i}),
            occurred,
        )
        .unwrap();
        f.store
            .append(request("household-tt", ExpectedVersion::Any, vec![e]))
            .await
            .unwrap();
        f.store
            .append(request(
                "household-other",
                ExpectedVersion::Any,
                vec![event("Noise", i)],
            ))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let now: DateTime<Utc> = sqlx::query_scalar("select clock_timestamp()")
            .fetch_one(&f.admin)
            .await
            .unwrap();
        cuts.push(now);
    }
    let mut conn = f.store.pool().acquire().await.unwrap();
    let all = read::read_stream(&mut conn, "household-tt", StreamRead::default())
        .await
        .unwrap();
    let ledger_all = read::read_ledger(&mut conn, LINZI, 0, 1000).await.unwrap();
    for (i, t) in cuts.iter().enumerate() {
        let known = read::read_stream(
            &mut conn,
            "household-tt",
            StreamRead {
                known_at: Some(*t),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let expected: Vec<_> = all
            .iter()
            .filter(|e| e.recorded_at <= *t)
            .cloned()
            .collect();
        assert_eq!(fold(&known), fold(&expected));
        assert_eq!(known.len(), i + 1);
        // "As known at T" is exactly a prefix of the ledger.
        let cut = read::seq_known_at(&mut conn, LINZI, *t).await.unwrap();
        let prefix: Vec<_> = ledger_all
            .iter()
            .filter(|e| e.seq <= cut && e.stream_id == "household-tt")
            .cloned()
            .collect();
        assert_eq!(fold(&prefix), fold(&known));
    }
    // "As it was": by business time, independent of when it was recorded.
    let mid = all[2].occurred_at;
    let was = read::read_stream(
        &mut conn,
        "household-tt",
        StreamRead {
            as_of: Some(mid),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(was.len(), 3);
    let from = read::read_stream(
        &mut conn,
        "household-tt",
        StreamRead {
            after_version: 4,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        from.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        vec![5, 6]
    );
    // recorded_at is monotonic with seq.
    assert!(
        ledger_all
            .windows(2)
            .all(|w| w[0].recorded_at <= w[1].recorded_at)
    );
}

// ---------------------------------------------------------------------------------------------
// Limits

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn malformed_commands_get_clear_errors_and_write_nothing(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    let err = f
        .store
        .append(request("household-l", ExpectedVersion::Any, vec![]))
        .await
        .unwrap_err();
    assert!(matches!(err, AppendError::Empty));

    let mut unknown = request("household-l", ExpectedVersion::Any, vec![event("A", 1)]);
    unknown.ledger = LedgerId::parse("110101").unwrap();
    assert!(matches!(
        f.store.append(unknown).await.unwrap_err(),
        AppendError::UnknownLedger { .. }
    ));
    assert!(LedgerId::parse("37030").is_err());

    let big = "x".repeat(dixian_store::model::MAX_EVENT_BYTES);
    let huge = NewEvent::new(
        Uuid::now_v7(),
        "A",
        &serde_json::json!({ "blob": big }),
        Utc::now(),
    )
    .unwrap();
    let err = f
        .store
        .append(request(
            "household-l",
            ExpectedVersion::Any,
            vec![event("A", 0), huge],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppendError::TooLarge { index: 1, .. }),
        "{err}"
    );

    let mut bad_json = event("A", 1);
    bad_json.data = "{not json".into();
    let err = f
        .store
        .append(request("household-l", ExpectedVersion::Any, vec![bad_json]))
        .await
        .unwrap_err();
    assert!(matches!(err, AppendError::Invalid { field: "data", .. }));

    // A stream belongs to one ledger for life.
    f.store
        .append(request(
            "household-l",
            ExpectedVersion::Any,
            vec![event("A", 1)],
        ))
        .await
        .unwrap();
    let zibo = LedgerId::parse("370303").unwrap();
    f.store.open_ledger(&zibo).await.unwrap();
    let mut moved = request("household-l", ExpectedVersion::Any, vec![event("B", 2)]);
    moved.ledger = zibo;
    let err = f.store.append(moved).await.unwrap_err();
    assert!(
        matches!(&err, AppendError::WrongLedger { home, .. } if home == LINZI),
        "{err}"
    );
    assert_eq!(event_count(&f.admin).await, 1);
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn stream_verification_checks_each_event_and_its_link(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    ten_events(&f).await;
    let mut conn = f.store.pool().acquire().await.unwrap();
    let report = verify::verify_stream(&mut conn, "household-t1")
        .await
        .unwrap();
    assert!(report.ok());
    assert_eq!(report.checked, 3);
    tamper(
        &f,
        "update es.event set actor_user = 'someone-else' where seq = 5",
    )
    .await;
    let report = verify::verify_stream(&mut conn, "household-t1")
        .await
        .unwrap();
    assert_eq!(
        report.problem.map(|p| (p.seq, p.damage)),
        Some((5, Damage::ContentMismatch))
    );
    let seqs: BTreeSet<i64> = read::read_stream(&mut conn, "household-t1", StreamRead::default())
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, BTreeSet::from([2, 5, 8]));
}

async fn futures_all<T: Send + 'static>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Shutdown

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn a_shutdown_commits_every_acknowledged_command_and_refuses_the_rest(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    let store = f
        .store
        .clone()
        .with_group_commit(GroupCommitConfig::default());
    let mut tasks = Vec::new();
    for i in 0..200 {
        let writer = store.clone();
        tasks.push(tokio::spawn(async move {
            let e = event("Visited", i);
            let id = e.event_id;
            (
                id,
                writer
                    .append(request(
                        &format!("household-s{}", i % 20),
                        ExpectedVersion::Any,
                        vec![e],
                    ))
                    .await,
            )
        }));
        if i == 100 {
            let store = store.clone();
            tokio::spawn(async move { store.shutdown(Duration::from_secs(10)).await });
        }
    }
    let mut acknowledged = HashSet::new();
    for t in tasks {
        let (id, result) = t.await.unwrap();
        match result {
            Ok(_) => {
                acknowledged.insert(id);
            }
            Err(AppendError::ShuttingDown) => {}
            Err(e) => panic!("{e}"),
        }
    }
    let stored: HashSet<Uuid> = sqlx::query_scalar("select event_id from es.event")
        .fetch_all(&f.admin)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        stored, acknowledged,
        "exactly the acknowledged commands are stored"
    );
    assert!(!acknowledged.is_empty());
    assert_head_consistent(&f).await;
}

// ---------------------------------------------------------------------------------------------
// Several servers

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn two_servers_with_group_commit_on_one_database_stay_gap_free_and_exactly_once(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options.clone()).await;
    // Two stores with pools and writers of their own: two server processes, as PostgreSQL sees them.
    let second_pool = db::service_pool(options, 10).await.unwrap();
    let servers = [
        f.store
            .clone()
            .with_group_commit(GroupCommitConfig::default()),
        EventStore::new(second_pool).with_group_commit(GroupCommitConfig::default()),
    ];
    let command_ids: Vec<Uuid> = (0..120).map(|_| Uuid::now_v7()).collect();
    let mut tasks = Vec::new();
    for (i, command_id) in command_ids.iter().enumerate() {
        // Every command is sent to both servers at once: a client retrying on another node.
        for server in &servers {
            let server = server.clone();
            let command_id = *command_id;
            let at = chrono::DateTime::from_timestamp(1_780_000_000 + i as i64, 0).unwrap();
            tasks.push(tokio::spawn(async move {
                let mut r = request(
                    &format!("household-m{}", i % 12),
                    ExpectedVersion::Any,
                    vec![
                        NewEvent::new(
                            Uuid::now_v7(),
                            "Visited",
                            &serde_json::json!({ "i": i }),
                            at,
                        )
                        .unwrap(),
                    ],
                );
                r.command_id = Some(command_id);
                server.append(r).await.unwrap()
            }));
        }
    }
    let answers = futures_all(tasks).await;
    assert_eq!(
        answers.iter().filter(|a| !a.duplicate).count(),
        command_ids.len(),
        "each command applied once"
    );
    let stored: i64 = event_count(&f.admin).await;
    assert_eq!(
        stored,
        command_ids.len() as i64,
        "nothing duplicated, nothing lost"
    );
    let distinct: i64 = sqlx::query_scalar("select count(distinct command_id) from es.event")
        .fetch_one(&f.admin)
        .await
        .unwrap();
    assert_eq!(distinct, command_ids.len() as i64);
    assert_head_consistent(&f).await;
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn streams_since_a_version_return_only_what_is_new_and_start_over_for_a_reader_ahead_of_the_log(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    for (stream, n) in [("household-a", 3), ("household-b", 2)] {
        let events = (1..=n).map(|i| event("VisitRecorded", i)).collect();
        f.store
            .append(request(stream, ExpectedVersion::NoStream, events))
            .await
            .unwrap();
    }
    let mut conn = f.admin.acquire().await.unwrap();
    let tails = read::read_streams_since(
        &mut conn,
        &[
            ("household-a", 1),
            ("household-none", 0),
            ("household-b", 2),
        ],
    )
    .await
    .unwrap();
    let got: Vec<(&str, i64, i64, Vec<i64>)> = tails
        .iter()
        .map(|t| {
            (
                t.stream_id.as_str(),
                t.from,
                t.version,
                t.events.iter().map(|e| e.stream_version).collect(),
            )
        })
        .collect();
    // a: versions 2 and 3 only; the missing stream is absent; b: current, nothing moved.
    assert_eq!(
        got,
        vec![
            ("household-a", 1, 3, vec![2, 3]),
            ("household-b", 2, 2, vec![])
        ]
    );
    // A reader that holds version 9 of a 3-event stream gets the whole stream from 0.
    let ahead = read::read_streams_since(&mut conn, &[("household-a", 9)])
        .await
        .unwrap();
    assert_eq!(ahead[0].from, 0);
    assert_eq!(ahead[0].events.len(), 3);
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn a_probe_connection_is_reused_only_when_its_work_finished(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options.clone()).await;
    let probes = dixian_store::probe::ProbePool::new(options, 2);
    async fn pid(c: &mut sqlx::PgConnection) -> i32 {
        sqlx::query_scalar("select pg_backend_pid()")
            .fetch_one(c)
            .await
            .unwrap()
    }

    let mut c = probes.acquire().await.unwrap();
    let first = pid(&mut c).await;
    let role: String = sqlx::query_scalar("select current_user::text")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    assert_eq!(role, "dixian_app");
    c.done();
    assert_eq!(probes.idle(), 1);

    // Finished cleanly: the same backend serves the next probe.
    let mut c = probes.acquire().await.unwrap();
    assert_eq!(pid(&mut c).await, first);

    // Cancelled mid-statement: closed, never handed out again.
    let slow = sqlx::query("select pg_sleep(1)").execute(&mut *c);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), slow)
            .await
            .is_err()
    );
    drop(c);
    assert_eq!(probes.idle(), 0);
    let mut c = probes.acquire().await.unwrap();
    assert_ne!(pid(&mut c).await, first);
    c.done();
    // The cancelled connection's backend goes away once the server notices the closed socket.
    let mut gone = false;
    for _ in 0..100 {
        let alive: bool =
            sqlx::query_scalar("select exists (select 1 from pg_stat_activity where pid = $1)")
                .bind(first)
                .fetch_one(&f.admin)
                .await
                .unwrap();
        if !alive {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the cancelled probe's backend {first} is still there");
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn batched_probes_answer_each_reader_with_its_own_streams_and_never_with_an_older_version(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options.clone()).await;
    for s in 0..8 {
        f.store
            .append(request(
                &format!("household-{s}"),
                ExpectedVersion::NoStream,
                vec![event("Registered", 0)],
            ))
            .await
            .unwrap();
    }
    // Two connections for 64 concurrent readers: most answers come from shared statements.
    let probes = dixian_store::probe::ProbePool::new(options, 2);
    let mut tasks = Vec::new();
    for r in 0..64_i64 {
        let (probes, store) = (probes.clone(), f.store.clone());
        tasks.push(tokio::spawn(async move {
            let mine = format!("household-{}", r % 8);
            let other = format!("household-{}", (r + 3) % 8);
            // Every eighth reader first appends to its stream: its own probe must see that.
            let mut at_least = 1;
            if r % 8 == 0 {
                let v = store
                    .append(request(
                        &mine,
                        ExpectedVersion::Any,
                        vec![event("Visit", r)],
                    ))
                    .await
                    .unwrap()
                    .stream_version;
                at_least = v;
            }
            let tails = probes
                .read_streams_since(&[(&mine, 0), ("household-missing", 0), (&other, 0)])
                .await
                .unwrap();
            assert_eq!(tails.len(), 2, "reader {r}");
            assert_eq!(tails[0].stream_id, mine);
            assert_eq!(tails[1].stream_id, other);
            for t in &tails {
                let versions: Vec<i64> = t.events.iter().map(|e| e.stream_version).collect();
                assert_eq!(versions, (1..=t.version).collect::<Vec<_>>(), "reader {r}");
            }
            assert!(
                tails[0].version >= at_least,
                "reader {r} saw an older version"
            );
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

fn claiming(stream: &str, claims: Vec<Claim>) -> AppendRequest {
    AppendRequest {
        claims,
        ..request(stream, ExpectedVersion::Any, vec![event("AlertRaised", 1)])
    }
}

async fn holder(f: &Fixture, key: &str) -> Option<String> {
    f.store.claim_holder(&ledger(), key).await.unwrap()
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn of_fifty_streams_taking_one_key_at_once_exactly_one_holds_it_and_the_others_learn_which(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    let store = f
        .store
        .clone()
        .with_group_commit(GroupCommitConfig::default());
    let key = "alert-open/h-1/MEDICAL";
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append(claiming(
                        &format!("alert-{i}"),
                        vec![Claim::Take(key.into())],
                    ))
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut named = HashSet::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(_) => winners.push(format!("alert-{i}")),
            Err(AppendError::Claimed { key: k, holder }) => {
                assert_eq!(k, key);
                named.insert(holder);
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "one holder");
    assert_eq!(
        named,
        HashSet::from([winners[0].clone()]),
        "the losers name it"
    );
    assert_eq!(holder(&f, key).await.as_deref(), Some(winners[0].as_str()));
    assert_eq!(
        event_count(&f.admin).await,
        1,
        "a refused take writes nothing"
    );

    // The holder taking it again is a no-op; another stream's release is a no-op.
    store
        .append(claiming(&winners[0], vec![Claim::Take(key.into())]))
        .await
        .unwrap();
    store
        .append(claiming("alert-x", vec![Claim::Release(key.into())]))
        .await
        .unwrap();
    assert_eq!(holder(&f, key).await.as_deref(), Some(winners[0].as_str()));

    // Released with the holder's append, the key is free for the next.
    store
        .append(claiming(&winners[0], vec![Claim::Release(key.into())]))
        .await
        .unwrap();
    assert_eq!(holder(&f, key).await, None);
    store
        .append(claiming("alert-next", vec![Claim::Take(key.into())]))
        .await
        .unwrap();
    assert_eq!(holder(&f, key).await.as_deref(), Some("alert-next"));

    // A key too long for the index is bad input, before anything is written.
    let before = event_count(&f.admin).await;
    let err = store
        .append(claiming("alert-y", vec![Claim::Take("k".repeat(513))]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AppendError::Invalid {
                field: "claims",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(event_count(&f.admin).await, before);
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn within_one_transaction_a_key_released_by_its_holder_can_be_taken_by_the_next(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let f = fixture(options).await;
    let key = "alert-open/h-2/FLOOD";
    f.store
        .append(claiming("alert-a", vec![Claim::Take(key.into())]))
        .await
        .unwrap();
    // One transaction: release by the holder, then a take, then a second take.
    let release = claiming("alert-a", vec![Claim::Release(key.into())]);
    let take = claiming("alert-b", vec![Claim::Take(key.into())]);
    let refused = claiming("alert-c", vec![Claim::Take(key.into())]);
    let mut conn = f.store.pool().acquire().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    f.store.append_in(&mut tx, &release).await.unwrap();
    f.store.append_in(&mut tx, &take).await.unwrap();
    let err = f.store.append_in(&mut tx, &refused).await.unwrap_err();
    assert!(
        matches!(&err, AppendError::Claimed { holder, .. } if holder == "alert-b"),
        "{err}"
    );
    tx.commit().await.unwrap();
    assert_eq!(holder(&f, key).await.as_deref(), Some("alert-b"));
}
