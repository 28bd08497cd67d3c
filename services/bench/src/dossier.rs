//! `dixian-bench-dossier`: the dossier query over HTTP (issue 5, the read benchmark).
//!
//! Starts the whole service in-process (fresh database, migrations, projections, GraphQL on
//! 127.0.0.1:0), loads households through the real mutations, then measures, at the same
//! concurrency and against the same database:
//! - the `household(id)` dossier over HTTP — bearer token checked against the user's stream,
//!   the household's stream read and folded, the province's policy read, JSON rendered;
//! - the baseline: the same read done by raw SQL (the household's events in version order,
//!   bodies as text) on a pool of the same size.
//!
//! Prints a markdown table; the targets are ≥ 0.5× raw SQL and p99 < 10 ms at 32 clients.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use clap::Parser;
use dixian_api::Caller;
use dixian_domain::{IdNumber, RegionCode, Role};
use dixian_server::{Config, Database, Services, http};
use serde_json::json;
use sqlx::Connection;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "dixian-bench-dossier")]
struct Args {
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Seconds per measured cell (after 1 s of warm-up).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Households loaded (each with a registration, 20 visits and 6 income records).
    #[arg(long, default_value_t = 200)]
    households: usize,
    #[arg(long)]
    quick: bool,
}

const DOSSIER: &str = "query($id: UUID!) { household(id: $id) { id status { code labelZh }
  members { name idNumber relation { labelZh } } incomes { windowEnd perCapitaFen growthFen }
  visits { kind { code } findings at } removalEligibility { eligible reasons { code } }
  timeline { eventType seq recordedAt } } }";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

struct Cell {
    ops: usize,
    rate: f64,
    p50: f64,
    p99: f64,
}

/// Runs `clients` loops of `op` for `seconds` after a warm-up; counts only operations that
/// started after the warm-up and ended before the deadline.
async fn measure<F, Fut>(clients: usize, warmup: Duration, seconds: f64, op: F) -> Result<Cell>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let op = Arc::new(op);
    let start = Instant::now() + warmup;
    let end = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = c;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                op(i).await?;
                let t1 = Instant::now();
                if t0 >= start && t1 <= end {
                    lat.push((t1 - t0).as_secs_f64() * 1000.0);
                }
                i += clients;
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by(|a, b| a.total_cmp(b));
    Ok(Cell {
        ops: all.len(),
        rate: all.len() as f64 / seconds,
        p50: percentile(&all, 0.50),
        p99: percentile(&all, 0.99),
    })
}

fn id_number(serial: usize) -> String {
    let first17 = format!(
        "3703051970{:02}{:02}{:03}",
        1 + serial % 12,
        1 + serial % 28,
        serial % 1000
    );
    format!(
        "{first17}{}",
        IdNumber::check_digit(&first17).expect("17 digits")
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = Args::parse();
    if args.quick {
        args.seconds = 1.0;
        args.households = 40;
    }
    // A database of our own on the server.
    let name = format!("dixian_bench_dossier_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&args.database_url)
        .await
        .context("DATABASE_URL")?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&mut admin)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&mut admin)
        .await?;
    let url = match args.database_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => anyhow::bail!("DATABASE_URL needs a database part"),
    };
    let result = run(&args, &url).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&mut admin)
    .await?;
    result
}

async fn run(args: &Args, url: &str) -> Result<()> {
    let mut config = Config::from_env()?;
    config.database_url = Some(url.to_owned());
    config.jwt_secret = "bench-secret-0123456789abcdef".into();
    config.pii_key = "bench-pii-key-0123456789abcdef".into();
    config.max_connections = 16;
    let database = Database::open(&config).await?;
    let services = Services::start(&database, &config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/graphql", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, services.clone(), async {
        let _ = stop_rx.await;
    }));

    // One grid worker of the village, through the log like every user.
    let village = RegionCode::parse("370305004201").map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = Uuid::now_v7();
    dixian_api::user::register_user(
        &services.api,
        &dixian_api::user::system_caller(&village),
        user,
        user,
        "基准测试",
        Role::GridWorker,
        &village,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let token = services
        .auth
        .issue(
            &Caller {
                user_id: user,
                role: Role::GridWorker,
                jurisdiction: village.clone(),
            },
            Utc::now(),
            Utc::now() + chrono::Duration::hours(2),
        )
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;

    // Households through the real mutations (16 at a time).
    let load_started = Instant::now();
    let mut ids = Vec::new();
    for chunk in (0..args.households).collect::<Vec<_>>().chunks(16) {
        let mut tasks = Vec::new();
        for &n in chunk {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                load_household(&client, &base, &token, n).await
            }));
        }
        for t in tasks {
            ids.push(t.await??);
        }
    }
    let load_secs = load_started.elapsed().as_secs_f64();
    let ids = Arc::new(ids);

    // Warm both paths, then measure the baseline and the dossier alternately, twice.
    let pool = dixian_store::db::service_pool(url.parse()?, 16).await?;
    let mut rows = Vec::new();
    for round in 0..2 {
        let raw = {
            let (pool, ids) = (pool.clone(), ids.clone());
            measure(
                args.clients,
                Duration::from_secs(1),
                args.seconds,
                move |i| {
                    let (pool, id) = (pool.clone(), ids[i % ids.len()]);
                    async move {
                        let rows: Vec<(String, String, i64)> = sqlx::query_as(
                            "select event_type, data::text, stream_version from es.event
                          where ledger = $1 and stream_id = $2 order by stream_version",
                        )
                        .bind("370305")
                        .bind(format!("household-{id}"))
                        .fetch_all(&pool)
                        .await?;
                        anyhow::ensure!(!rows.is_empty(), "no events for {id}");
                        Ok(())
                    }
                },
            )
            .await?
        };
        let dossier = {
            let (client, base, token, ids) =
                (client.clone(), base.clone(), token.clone(), ids.clone());
            measure(
                args.clients,
                Duration::from_secs(1),
                args.seconds,
                move |i| {
                    let (client, base, token, id) = (
                        client.clone(),
                        base.clone(),
                        token.clone(),
                        ids[i % ids.len()],
                    );
                    async move {
                        let resp: serde_json::Value = client
                            .post(&base)
                            .bearer_auth(&token)
                            .json(&json!({ "query": DOSSIER, "variables": { "id": id } }))
                            .send()
                            .await?
                            .json()
                            .await?;
                        anyhow::ensure!(resp["errors"].is_null(), "dossier failed: {resp}");
                        Ok(())
                    }
                },
            )
            .await?
        };
        rows.push((round, raw, dossier));
    }

    println!(
        "## Dossier query over HTTP ({} clients, {} households of ~27 events, {:.0} s cells)\n",
        args.clients,
        ids.len(),
        args.seconds
    );
    println!(
        "| round | raw SQL req/s | raw p50 ms | raw p99 ms | dossier req/s | dossier p50 ms | dossier p99 ms | ratio | target ≥ 0.5× | p99 < 10 ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
    for (round, raw, d) in &rows {
        let ratio = d.rate / raw.rate;
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2}× | {} | {} |",
            round + 1,
            raw.rate,
            raw.p50,
            raw.p99,
            d.rate,
            d.p50,
            d.p99,
            ratio,
            if ratio >= 0.5 { "pass" } else { "miss" },
            if d.p99 < 10.0 { "pass" } else { "miss" },
        );
        let _ = (raw.ops, d.ops);
    }
    println!(
        "\nLoad: {} households through `registerHousehold`, `recordVisit` and `recordIncome` in {load_secs:.1} s.",
        ids.len()
    );

    let _ = stop_tx.send(());
    let _ = server.await;
    services.shutdown().await;
    pool.close().await;
    Ok(())
}

async fn load_household(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    n: usize,
) -> Result<Uuid> {
    let post = |query: &'static str, input: serde_json::Value| {
        let req = client
            .post(base)
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": { "i": input } }));
        async move {
            let resp: serde_json::Value = req.send().await?.json().await?;
            anyhow::ensure!(resp["errors"].is_null(), "load failed: {resp}");
            Ok(resp)
        }
    };
    let resp = post(
        "mutation($i: RegisterHouseholdInput!) { registerHousehold(input: $i) { household { id } } }",
        json!({ "commandId": Uuid::now_v7(), "village": "370305004201", "address": format!("合理村 {n} 号"),
                "head": { "name": "基准户主", "idNumber": id_number(n), "relation": "HEAD", "health": "HEALTHY",
                          "labour": "NORMAL", "schooling": "NONE", "employment": "FARMING", "safetyNet": "NONE" } }),
    )
    .await?;
    let id: Uuid = resp["data"]["registerHousehold"]["household"]["id"]
        .as_str()
        .context("household id")?
        .parse()?;
    for v in 0..20 {
        post(
            "mutation($i: RecordVisitInput!) { recordVisit(input: $i) { duplicate } }",
            json!({ "commandId": Uuid::now_v7(), "householdId": id, "kind": "ROUTINE_GRID_VISIT",
                    "findings": format!("第 {v} 次走访：家中整洁，老人身体尚可，询问了医保报销情况。"), "wallMaterialsChecked": true }),
        )
        .await?;
    }
    for m in 1..=6 {
        post(
            "mutation($i: RecordIncomeInput!) { recordIncome(input: $i) { duplicate } }",
            json!({ "commandId": Uuid::now_v7(), "householdId": id, "windowEnd": format!("2026-{m:02}"),
                    "wageFen": 1_200_000 + m * 10_000, "businessFen": 200_000, "propertyFen": 0, "transferFen": 50_000 }),
        )
        .await?;
    }
    Ok(id)
}
