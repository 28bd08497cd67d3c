//! `dixian-bench-raise`: raising alerts over HTTP beside recording visits (issue 26).
//!
//! Starts the whole service in-process (fresh database, migrations, projections, reactors,
//! GraphQL on 127.0.0.1:0, a 16-connection request pool as the server defaults to), registers
//! households through the real mutation, then measures at 1, 16 and 64 clients, alternating in
//! the same run:
//! - the baseline: `recordVisit` on the households, one plain record command;
//! - `raiseAlert` about the same households, each a new warning (its own trigger code), as a
//!   department's import sends it: the deduplication look-up and the alert's append taking its
//!   key in the log (the reactor links the alert on the household's file in the background);
//! - the same with `followUp` selected, as a front end that shows the file next: it also waits
//!   for that link (a second command).
//!
//! Target: raising ≥ 0.5× the rate of the plain record command at every concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use clap::Parser;
use dixian_api::Caller;
use dixian_domain::{RegionCode, Role};
use dixian_server::{Config, Database, Services, http};
use serde_json::json;
use sqlx::Connection;
use uuid::Uuid;

mod http_cell;
use http_cell::{Cell, Op, create_database, drop_database, id_number, measure};

/// The server's allocator (see `services/server/src/main.rs`), so the bench measures what runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "dixian-bench-raise")]
struct Args {
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Concurrencies measured.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    clients: Vec<usize>,
    /// Seconds per measured cell (after 1 s of warm-up).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Households registered (commands spread over them).
    #[arg(long, default_value_t = 400)]
    households: usize,
    /// Alternating rounds per concurrency.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Request pool size (`DIXIAN_DB_CONNECTIONS`).
    #[arg(long, default_value_t = 16)]
    connections: u32,
    /// Small and fast: 1 s cells, 64 households, one round.
    #[arg(long)]
    quick: bool,
    /// Keep the database (for inspection) instead of dropping it.
    #[arg(long)]
    keep: bool,
}

const VILLAGE: &str = "370305004201";

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = Args::parse();
    if args.quick {
        args.seconds = 1.0;
        args.households = 64;
        args.rounds = 1;
    }
    let mut admin = sqlx::PgConnection::connect(&args.database_url)
        .await
        .context("DATABASE_URL")?;
    let name = format!("dixian_bench_raise_{}", std::process::id());
    let url = create_database(&mut admin, &args.database_url, &name).await?;
    let result = run(&args, &url).await;
    if !args.keep {
        drop_database(&mut admin, &name).await?;
    }
    result
}

async fn run(args: &Args, url: &str) -> Result<()> {
    let mut config = Config::from_env()?;
    config.database_url = Some(url.to_owned());
    config.jwt_secret = "bench-secret-0123456789abcdef".into();
    config.pii_key = "bench-pii-key-0123456789abcdef".into();
    config.max_connections = args.connections;
    let database = Database::open(&config).await?;
    let services = Services::start(&database, &config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/graphql", listener.local_addr()?);
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, services.clone(), async {
        let _ = stop_rx.await;
    }));
    let result = bench(args, &services, &base).await;
    let _ = stop.send(());
    let _ = server.await;
    services.shutdown().await;
    result
}

async fn token(services: &Services, role: Role, jurisdiction: &str) -> Result<String> {
    let jurisdiction = RegionCode::parse(jurisdiction).map_err(|e| anyhow::anyhow!("{e}"))?;
    let id = Uuid::now_v7();
    dixian_api::user::register_user(
        &services.api,
        &dixian_api::user::system_caller(&jurisdiction),
        id,
        id,
        "基准测试",
        role,
        &jurisdiction,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let caller = Caller {
        user_id: id,
        role,
        jurisdiction,
    };
    services
        .auth
        .issue(&caller, Utc::now(), Utc::now() + chrono::Duration::hours(4))
        .map_err(|e| anyhow::anyhow!("{}", e.message()))
}

/// One GraphQL mutation as a bench operation: fails on any error in the answer (an
/// `OVERLOADED` counts as a failure: the bench runs below the server's limits).
fn mutation_op(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    query: &'static str,
    input: impl Fn(usize) -> serde_json::Value + Send + Sync + 'static,
) -> Op {
    let (client, base, token) = (client.clone(), base.to_owned(), token.to_owned());
    let input = Arc::new(input);
    Arc::new(move |i| {
        let req = client
            .post(&base)
            .bearer_auth(&token)
            .json(&json!({ "query": query, "variables": { "i": input(i) } }));
        Box::pin(async move {
            let body = req.send().await?.bytes().await?;
            anyhow::ensure!(
                body.starts_with(br#"{"data":{"#) && !body.windows(9).any(|w| w == br#""errors":"#),
                "{query} failed: {}",
                String::from_utf8_lossy(&body)
            );
            Ok(())
        })
    })
}

/// Waits until the alert reactor's checkpoint is at the ledger's head; returns the seconds it
/// took.
async fn settle(services: &Services) -> Result<f64> {
    let started = std::time::Instant::now();
    loop {
        let behind: i64 = sqlx::query_scalar(
            "select coalesce(max(l.last_seq - coalesce(c.seq, 0)), 0)::bigint
               from es.ledger l
               left join es.reactor_checkpoint c on c.ledger = l.ledger",
        )
        .fetch_one(&services.pool)
        .await?;
        if behind == 0 {
            return Ok(started.elapsed().as_secs_f64());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "the reactor is {behind} events behind after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn bench(args: &Args, services: &Services, base: &str) -> Result<()> {
    services
        .store
        .open_ledger(&dixian_store::LedgerId::parse("370305")?)
        .await?;
    let grid = token(services, Role::GridWorker, VILLAGE).await?;
    let county = token(services, Role::CountyOfficer, "370305").await?;
    let client = reqwest::Client::new();
    let register = mutation_op(
        &client,
        base,
        &grid,
        "mutation($i: RegisterHouseholdInput!) { registerHousehold(input: $i) { household { id } } }",
        |n| {
            json!({ "commandId": Uuid::now_v7(), "village": VILLAGE, "address": format!("合理村 {n} 号"),
                    "head": { "name": "基准户主", "idNumber": id_number(1975, n), "relation": "HEAD", "health": "HEALTHY",
                              "labour": "NORMAL", "schooling": "NONE", "employment": "FARMING", "safetyNet": "NONE" } })
        },
    );
    for n in 0..args.households {
        register(n).await?;
    }
    let ids: Arc<Vec<Uuid>> = Arc::new(
        sqlx::query_scalar(
            "select (regexp_replace(stream_id, '^household-', ''))::uuid from es.stream
              where stream_type = 'household' order by stream_id",
        )
        .fetch_all(&services.pool)
        .await?,
    );
    anyhow::ensure!(ids.len() == args.households, "households registered");

    let visit = {
        let ids = ids.clone();
        mutation_op(
            &client,
            base,
            &grid,
            "mutation($i: RecordVisitInput!) { recordVisit(input: $i) { duplicate } }",
            move |i| {
                json!({ "commandId": Uuid::now_v7(), "householdId": ids[i % ids.len()],
                        "kind": "ROUTINE_GRID_VISIT", "findings": "家中整洁，询问了医保报销情况。" })
            },
        )
    };
    let serial = Arc::new(AtomicU64::new(0));
    let raise_op = |selection: &'static str| {
        let (ids, serial) = (ids.clone(), serial.clone());
        mutation_op(&client, base, &county, selection, move |i| {
            // A new warning each time: its own trigger code, so every raise opens an alert.
            let n = serial.fetch_add(1, Ordering::Relaxed);
            json!({ "commandId": Uuid::now_v7(), "village": VILLAGE, "householdId": ids[i % ids.len()],
                    "source": "DEPARTMENT_DATA", "department": "MEDICAL_INSURANCE",
                    "triggerCode": format!("MEDICAL_{n}"), "triggerText": "个人自付医疗费用超过 2 万元",
                    "severity": "HIGH" })
        })
    };
    // As a department's import sends it (answered after the alert's own append) …
    let raise = raise_op(
        "mutation($i: RaiseAlertInput!) { raiseAlert(input: $i) { alert { id } linkedTo } }",
    );
    // … and as a front end that shows the household's file next (waits for the link).
    let raise_follow = raise_op(
        "mutation($i: RaiseAlertInput!) { raiseAlert(input: $i) { alert { id } linkedTo followUp { done } } }",
    );

    println!(
        "\n## Raising alerts beside recording visits ({} households, {} s cells, {} round(s), {}-connection request pool)\n",
        args.households, args.seconds, args.rounds, args.connections
    );
    println!(
        "| clients | recordVisit/s | p50 · p99 ms | raiseAlert/s | p50 · p99 ms | ÷ visit (≥ 0.5×) | raiseAlert + followUp/s | p50 · p99 ms | ÷ visit |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let warmup = Duration::from_secs(1);
    for &clients in &args.clients {
        let (mut visits, mut raises, mut follows) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..args.rounds {
            visits.push(measure(clients, warmup, args.seconds, visit.clone()).await?);
            raises.push(measure(clients, warmup, args.seconds, raise.clone()).await?);
            // The raises left links for the reactor to make: each cell starts with none owed.
            let drained = settle(services).await?;
            println!(
                "<!-- {clients} clients: the reactor's backlog after the raise cell drained in {drained:.1} s -->"
            );
            follows.push(measure(clients, warmup, args.seconds, raise_follow.clone()).await?);
            settle(services).await?;
        }
        let (v, r, f) = (
            Cell::pool(&visits),
            Cell::pool(&raises),
            Cell::pool(&follows),
        );
        let ratio = r.rate() / v.rate();
        println!(
            "| {clients} | {:.0} | {:.1} · {:.1} | {:.0} | {:.1} · {:.1} | **{ratio:.2}×** {} | {:.0} | {:.1} · {:.1} | {:.2}× |",
            v.rate(),
            v.p50(),
            v.p99(),
            r.rate(),
            r.p50(),
            r.p99(),
            if ratio >= 0.5 { "pass" } else { "**miss**" },
            f.rate(),
            f.p50(),
            f.p99(),
            f.rate() / v.rate(),
        );
    }
    Ok(())
}
