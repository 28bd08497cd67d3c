//! The alert reactor against a real PostgreSQL: each reaction happens exactly once, whatever
//! is replayed or run twice, and a refused reaction is parked, listed and retried.

use dixian_commands::alert_reactions::NAME;
use dixian_commands::{CommandMeta, Executor, Reactors, StreamRef};
use dixian_domain::alert::{Alert, AlertSource, RaiseAlert, Severity};
use dixian_domain::household::{Household, HouseholdState};
use dixian_domain::{Command, StreamId};
use dixian_store::{EventStore, LedgerId, StreamRead, db};
use dixian_testkit::household::register;
use dixian_testkit::{COUNTY, VILLAGE, code, day, grid_worker, id, policy};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

async fn executor(options: PgConnectOptions) -> Executor {
    let pool = db::service_pool(options, 10).await.unwrap();
    let store = EventStore::new(pool.clone());
    store
        .open_ledger(&LedgerId::parse(COUNTY).unwrap())
        .await
        .unwrap();
    Executor::new(store, pool)
}

fn household_stream(household: Uuid) -> StreamRef {
    StreamRef::in_county(StreamId::Household(household), COUNTY).unwrap()
}

async fn register_household(exec: &Executor) -> Uuid {
    let cmd = register();
    let household = id(9000);
    let meta = CommandMeta::new(Uuid::now_v7(), &"register", "test");
    exec.execute::<Household, _>(&household_stream(household), &meta, |_| Ok(cmd.clone()))
        .await
        .unwrap();
    household
}

async fn raise(exec: &Executor, alert: Uuid, household: Uuid) {
    let cmd = Command::new(
        grid_worker(),
        day(1),
        RaiseAlert {
            alert_id: alert,
            source: AlertSource::GridScreening,
            department: None,
            trigger_code: "MEDICAL_OUT_OF_POCKET".into(),
            trigger_text: "住院自付费用较高".into(),
            severity: Severity::High,
            household_id: Some(household),
            village: code(VILLAGE),
        },
    )
    .under(policy());
    let stream = StreamRef::in_county(StreamId::Alert(alert), COUNTY).unwrap();
    let meta = CommandMeta::new(Uuid::now_v7(), &alert, "raise");
    exec.execute::<Alert, _>(&stream, &meta, |_| Ok(cmd.clone()))
        .await
        .unwrap();
}

async fn file(exec: &Executor, household: Uuid) -> (HouseholdState, i64) {
    let loaded = exec
        .load::<Household>(&StreamId::Household(household), StreamRead::default())
        .await
        .unwrap();
    (loaded.state, loaded.version)
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn a_reaction_happens_once_through_replays_lost_checkpoints_and_a_second_process(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let exec = executor(options).await;
    let household = register_household(&exec).await;
    // The alert is in the log and no reactor has run: as if the server died right after the
    // append.
    raise(&exec, id(7001), household).await;
    assert_eq!(file(&exec, household).await.1, 1, "nothing reacted yet");

    let reactors = Reactors::standard(exec.clone());
    reactors.catch_up().await.unwrap();
    let (state, version) = file(&exec, household).await;
    assert!(
        state.open_alerts.contains(&id(7001)),
        "the file links the alert"
    );
    assert_eq!(version, 2);

    // The checkpoint write is lost (a crash after the reaction's append): the replayed step
    // issues the same derived command id, which the log answers as a duplicate.
    sqlx::query("update es.reactor_checkpoint set seq = 0 where reactor = $1")
        .bind(NAME)
        .execute(exec.pool())
        .await
        .unwrap();
    reactors.catch_up().await.unwrap();
    // A second server process with its own reactors, over the same log.
    let other = Reactors::standard(exec.clone());
    let (a, b) = tokio::join!(reactors.catch_up(), other.catch_up());
    a.unwrap();
    b.unwrap();
    assert_eq!(
        file(&exec, household).await.1,
        2,
        "linked once, not three times"
    );
    let stuck = reactors.stuck(COUNTY).await.unwrap();
    assert!(stuck.is_empty(), "{stuck:?}");
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn a_refused_reaction_is_parked_listed_and_retried_until_it_goes_through(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let exec = executor(options).await;
    // The alert names a household that is not registered yet: the link is refused.
    raise(&exec, id(7002), id(9000)).await;
    let reactors = Reactors::standard(exec.clone());
    reactors.catch_up().await.unwrap();
    let stuck = reactors.stuck(VILLAGE).await.unwrap();
    assert_eq!(stuck.len(), 1, "{stuck:?}");
    assert_eq!(stuck[0].reactor, NAME);
    assert_eq!(stuck[0].event_type.as_deref(), Some("AlertRaised"));
    assert_ne!(stuck[0].error_code, "BLOCKED");
    // The reactor went on past it: later events are not held up.
    let checkpoint: i64 =
        sqlx::query_scalar("select seq from es.reactor_checkpoint where reactor = $1")
            .bind(NAME)
            .fetch_one(exec.pool())
            .await
            .unwrap();
    assert_eq!(checkpoint, stuck[0].seq);

    // Once the household exists, the retry links it, once.
    let household = register_household(&exec).await;
    sqlx::query("update es.reaction_failure set next_attempt_at = clock_timestamp()")
        .execute(exec.pool())
        .await
        .unwrap();
    reactors.catch_up().await.unwrap();
    let (state, version) = file(&exec, household).await;
    assert!(state.open_alerts.contains(&id(7002)));
    assert_eq!(version, 2);
    assert!(reactors.stuck(VILLAGE).await.unwrap().is_empty());
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn two_processes_following_a_backlog_from_the_start_make_every_reaction_once(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let exec = executor(options).await;
    // 150 alerts on 150 households: 300 events, more than one step's batch.
    let count = 150u128;
    let cmd = register();
    for k in 0..count {
        let household = id(20_000 + k);
        let meta = CommandMeta::new(Uuid::now_v7(), &k, "register");
        exec.execute::<Household, _>(&household_stream(household), &meta, |_| Ok(cmd.clone()))
            .await
            .unwrap();
        raise(&exec, id(30_000 + k), household).await;
    }
    // Two server processes, each with its own reactors, both following from the first event.
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let first = Reactors::standard(exec.clone());
    let second = Reactors::standard(exec.clone());
    let mut tasks = first.spawn(exec.store().commits(), stop.clone());
    tasks.extend(second.spawn(exec.store().commits(), stop));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let behind: i64 = sqlx::query_scalar(
            "select count(*) from es.stream where stream_type = 'household' and version < 2",
        )
        .fetch_one(exec.pool())
        .await
        .unwrap();
        if behind == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{behind} files not linked"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Let both go over everything once more, then stop them.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop_tx.send(true).unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    for k in 0..count {
        let (state, version) = file(&exec, id(20_000 + k)).await;
        assert_eq!(version, 2, "household {k} linked once");
        assert_eq!(
            state.open_alerts.into_iter().collect::<Vec<_>>(),
            vec![id(30_000 + k)]
        );
    }
    let links: i64 =
        sqlx::query_scalar("select count(*) from es.event where event_type = 'AlertLinked'")
            .fetch_one(exec.pool())
            .await
            .unwrap();
    assert_eq!(links, count as i64, "one link per alert");
    assert!(first.stuck(COUNTY).await.unwrap().is_empty());
}

#[sqlx::test(migrator = "dixian_store::db::MIGRATOR")]
async fn a_step_that_finds_another_process_at_work_reports_the_checkpoint_where_it_stands(
    _o: PgPoolOptions,
    options: PgConnectOptions,
) {
    let exec = executor(options).await;
    let household = register_household(&exec).await;
    raise(&exec, id(7003), household).await;
    let reactors = Reactors::standard(exec.clone());
    reactors.catch_up().await.unwrap();
    let head: i64 = sqlx::query_scalar("select last_seq from es.ledger where ledger = $1")
        .bind(COUNTY)
        .fetch_one(exec.pool())
        .await
        .unwrap();
    // Another process leases the (reactor, ledger) for its step.
    sqlx::query(
        "update es.reactor_checkpoint set leased_by = gen_random_uuid(),
                lease_until = clock_timestamp() + interval '1 minute' where reactor = $1",
    )
    .bind(NAME)
    .execute(exec.pool())
    .await
    .unwrap();
    let reactor = dixian_commands::alert_reactions::AlertReactions;
    let (seen, checkpoint, blocked) = reactors.step(&reactor, COUNTY).await.unwrap();
    assert_eq!(seen, 0, "it leaves the ledger to the holder");
    assert!(!blocked);
    assert!(checkpoint > 0, "not the start of the ledger");
    let stored: i64 =
        sqlx::query_scalar("select seq from es.reactor_checkpoint where reactor = $1")
            .bind(NAME)
            .fetch_one(exec.pool())
            .await
            .unwrap();
    assert_eq!(checkpoint, stored);
    assert!(stored <= head);
}

#[test]
fn the_follow_up_a_command_waits_for_is_the_one_its_event_calls_for() {
    use dixian_commands::alert_reactions::FollowUpKind;
    let raise_for = |household: Option<Uuid>| {
        Command::new(
            grid_worker(),
            day(1),
            RaiseAlert {
                alert_id: id(7100),
                source: AlertSource::GridScreening,
                department: None,
                trigger_code: "MEDICAL_OUT_OF_POCKET".into(),
                trigger_text: "住院自付费用较高".into(),
                severity: Severity::High,
                household_id: household,
                village: code(VILLAGE),
            },
        )
        .under(policy())
    };
    for household in [Some(id(9000)), None] {
        let cmd = raise_for(household);
        let events = <Alert as dixian_domain::Decider>::decide(&cmd, &Default::default()).unwrap();
        assert_eq!(
            events.iter().find_map(FollowUpKind::of),
            FollowUpKind::after(&cmd.body),
            "household {household:?}"
        );
    }
}
