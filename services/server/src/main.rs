//! `dixian` — the Dixian (底线) server and its maintenance commands.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use dixian_api::Caller;
use dixian_domain::{RegionCode, Role};
use dixian_server::{Config, Database, Services, demo, http};
use dixian_store::{LedgerId, verify};

#[derive(Parser)]
#[command(
    name = "dixian",
    version,
    about = "Dixian (底线): dynamic monitoring of rural households at risk of falling back into poverty",
    long_about = "Dixian (底线): an event-sourced backend for 防止返贫动态监测和帮扶.\n\n\
        Without DATABASE_URL every command uses a private PostgreSQL cluster under the data \
        directory (started and stopped as needed)."
)]
struct Cli {
    /// Data directory for the embedded PostgreSQL and generated secrets [env: DIXIAN_DATA_DIR]
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (GraphQL, health, readiness, metrics)
    Serve {
        /// Address to listen on [env: DIXIAN_LISTEN, default 127.0.0.1:8080]
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Load the demo district (synthetic 临淄区) before serving, and print a token per role
        /// and example queries; a later start finds it loaded and only re-issues tokens
        #[arg(long)]
        demo: bool,
        /// Households in the demo district (with --demo)
        #[arg(long, default_value_t = dixian_server::demo::DEFAULT_HOUSEHOLDS, requires = "demo")]
        households: usize,
    },
    /// Load the demo district (synthetic 临淄区, through the same commands as real data), print
    /// a token per role and example queries, and exit; loading again appends nothing
    Demo {
        /// Households to generate
        #[arg(long, default_value_t = dixian_server::demo::DEFAULT_HOUSEHOLDS)]
        households: usize,
        /// Hours the printed tokens stay valid
        #[arg(long, default_value_t = 24)]
        hours: i64,
    },
    /// Apply database migrations and exit
    Migrate,
    /// Open a county's ledger (its 6-digit code)
    OpenLedger { county: String },
    /// Recompute hash chains; exit 1 when any check fails
    Verify {
        /// Only this ledger (default: all)
        #[arg(long)]
        ledger: Option<String>,
        /// Only this stream's events (e.g. household-<uuid>)
        #[arg(long)]
        stream: Option<String>,
        /// Check against an auditor's anchor, SEQ:HEADHASH (needs --ledger)
        #[arg(long)]
        anchor: Option<String>,
    },
    /// Rebuild projections from seq 0 and switch over
    Rebuild {
        /// Only this projection (default: all)
        #[arg(long)]
        projection: Option<String>,
    },
    /// Record ledger heads as anchors (signed with DIXIAN_ANCHOR_KEY when set) and print them
    Anchor {
        #[arg(long)]
        ledger: Option<String>,
    },
    /// Issue a bearer token for a registered user (role and jurisdiction come from the log)
    Token {
        #[arg(long)]
        user: uuid::Uuid,
        #[arg(long, default_value_t = 12)]
        hours: i64,
    },
    /// Register a user (as the system, for bootstrap) and print its id and a token
    UserAdd {
        #[arg(long)]
        name: String,
        /// GRID_WORKER, VILLAGE_SECRETARY, CADRE, TOWNSHIP_OFFICER, COUNTY_OFFICER, AUDITOR, SPOT_CHECKER
        #[arg(long)]
        role: String,
        /// Region-code prefix, e.g. 370305 or 370305004201
        #[arg(long)]
        jurisdiction: String,
        #[arg(long, default_value_t = 12)]
        hours: i64,
    },
}

/// mimalloc rather than glibc's allocator: a GraphQL request allocates thousands of small
/// values across worker threads, where glibc spent ~15% of the dossier benchmark's CPU in
/// malloc/free and arena consolidation (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .init();
    let cli = Cli::parse();
    let mut config = Config::from_env()?;
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    config.ensure_secrets()?;
    match cli.command {
        Command::Serve {
            listen,
            demo,
            households,
        } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            serve(config, demo.then_some(households)).await
        }
        other => with_database(&config, |db| maintenance(other, db, config.clone())).await,
    }
}

/// Runs a maintenance command against the database, starting and stopping the embedded
/// cluster around it when there is no DATABASE_URL.
async fn with_database<F, Fut>(config: &Config, f: F) -> anyhow::Result<()>
where
    F: FnOnce(std::sync::Arc<Database>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let db = std::sync::Arc::new(Database::open(config).await?);
    let result = f(db.clone()).await;
    db.stop();
    result
}

async fn maintenance(
    cmd: Command,
    db: std::sync::Arc<Database>,
    config: Config,
) -> anyhow::Result<()> {
    let admin = db.admin_pool().await?;
    dixian_store::db::migrate(&admin)
        .await
        .context("migrations failed")?;
    let pool = dixian_store::db::service_pool(db.connect_options()?, 4).await?;
    let ledgers = |only: Option<String>| {
        let pool = pool.clone();
        async move {
            let mut conn = pool.acquire().await?;
            let all: Vec<String> = dixian_store::read::ledger_heads(&mut conn)
                .await?
                .into_iter()
                .map(|h| h.ledger)
                .collect();
            match only {
                Some(l) if all.contains(&l) => Ok(vec![l]),
                Some(l) => bail!("unknown ledger {l}"),
                None => anyhow::Ok(all),
            }
        }
    };
    match cmd {
        Command::Migrate => {
            println!("migrations applied");
        }
        Command::OpenLedger { county } => {
            let id = LedgerId::parse(&county).map_err(|e| anyhow::anyhow!("{e}"))?;
            let created = dixian_store::EventStore::new(pool.clone())
                .open_ledger(&id)
                .await?;
            println!(
                "{}",
                if created {
                    format!("ledger {county} opened")
                } else {
                    format!("ledger {county} already open")
                }
            );
        }
        Command::Verify {
            ledger,
            stream,
            anchor,
        } => {
            let mut conn = pool.acquire().await?;
            let mut failed = false;
            let reports = if let Some(stream) = stream {
                vec![verify::verify_stream(&mut conn, &stream).await?]
            } else if let Some(anchor) = anchor {
                let ledger = ledger.context("--anchor needs --ledger")?;
                let (seq, hash) = anchor.split_once(':').context("--anchor is SEQ:HEADHASH")?;
                vec![
                    verify::check_anchor(
                        &mut conn,
                        &ledger,
                        seq.parse().context("anchor seq")?,
                        hash,
                    )
                    .await?,
                ]
            } else {
                let mut out = Vec::new();
                for l in ledgers(ledger).await? {
                    out.push(verify::verify_ledger(&mut conn, &l).await?);
                }
                out
            };
            for r in reports {
                failed |= !r.ok();
                println!("{}", serde_json::to_string(&r)?);
            }
            if failed {
                db.stop();
                std::process::exit(1);
            }
        }
        Command::Rebuild { projection } => {
            let all = dixian_projections::all();
            let chosen: Vec<_> = all
                .iter()
                .filter(|p| projection.as_deref().is_none_or(|n| n == p.name()))
                .collect();
            if chosen.is_empty() {
                bail!(
                    "unknown projection; known: {}",
                    all.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
                );
            }
            for p in chosen {
                let started = std::time::Instant::now();
                let report = dixian_projections::rebuild::rebuild(&pool, p.as_ref()).await?;
                println!(
                    "{}: {} events in {:.2?}",
                    report.projection,
                    report.events,
                    started.elapsed()
                );
            }
        }
        Command::Anchor { ledger } => {
            let mut conn = pool.acquire().await?;
            for l in ledgers(ledger).await? {
                let a = verify::take_anchor(&mut conn, &l, config.anchor_key.as_ref()).await?;
                println!("{}", serde_json::to_string(&a)?);
            }
        }
        Command::Token { user, hours } => {
            let services = Services::start(&db, &config).await?;
            let result = async {
                let state = dixian_api::user::load_user(&services.api, user)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
                let (Some(role), Some(jurisdiction)) = (state.role, state.jurisdiction.clone())
                else {
                    bail!("no user {user}; register one with `dixian user-add`");
                };
                if !state.active {
                    bail!("user {user} is deactivated");
                }
                println!(
                    "{}",
                    issue(
                        &services,
                        Caller {
                            user_id: user,
                            role,
                            jurisdiction
                        },
                        hours
                    )?
                );
                Ok(())
            }
            .await;
            services.shutdown().await;
            result?;
        }
        Command::UserAdd {
            name,
            role,
            jurisdiction,
            hours,
        } => {
            let role = Role::from_code(&role).with_context(|| format!("unknown role {role}"))?;
            let jurisdiction = RegionCode::parse(&jurisdiction)
                .map_err(|e| anyhow::anyhow!("jurisdiction: {e}"))?;
            let services = Services::start(&db, &config).await?;
            let result = async {
                let id = uuid::Uuid::now_v7();
                let system = dixian_api::user::system_caller(&jurisdiction);
                dixian_api::user::register_user(&services.api, &system, id, id, &name, role, &jurisdiction)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
                let token = issue(&services, Caller { user_id: id, role, jurisdiction: jurisdiction.clone() }, hours)?;
                println!("{}", serde_json::json!({ "userId": id, "role": role.code(), "jurisdiction": jurisdiction.as_str(), "token": token }));
                anyhow::Ok(())
            }
            .await;
            services.shutdown().await;
            result?;
        }
        Command::Demo { households, hours } => {
            let services = Services::start(&db, &config).await?;
            let result = load_demo(&services, &config, households, hours).await;
            services.shutdown().await;
            result?;
        }
        Command::Serve { .. } => unreachable!("handled in main"),
    }
    Ok(())
}

fn issue(services: &Services, caller: Caller, hours: i64) -> anyhow::Result<String> {
    let now = chrono::Utc::now();
    services
        .auth
        .issue(&caller, now, now + chrono::Duration::hours(hours))
        .map_err(|e| anyhow::anyhow!("{}", e.message()))
}

/// Loads the demo district (or finds it loaded) and prints tokens and example queries.
async fn load_demo(
    services: &Services,
    config: &Config,
    households: usize,
    hours: i64,
) -> anyhow::Result<()> {
    let options = demo::DemoOptions {
        households,
        ..demo::DemoOptions::default()
    };
    let report = demo::load_with(&services.api, &options)
        .await
        .context("loading the demo district failed")?;
    demo::print_report(&report, &services.auth, config.listen, hours)
}

async fn serve(config: Config, demo_households: Option<usize>) -> anyhow::Result<()> {
    tracing::info!(?config, "starting");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (set DIXIAN_LISTEN or --listen)",
                config.listen
            )
        })?;
    let db = Database::open(&config).await?;
    let services = match Services::start(&db, &config).await {
        Ok(s) => s,
        Err(e) => {
            db.stop();
            return Err(e);
        }
    };
    if let Some(households) = demo_households
        && let Err(e) = load_demo(&services, &config, households, 24).await
    {
        services.shutdown().await;
        db.stop();
        return Err(e);
    }
    let result = http::serve(listener, services.clone(), http::shutdown_signal()).await;
    services.shutdown().await;
    db.stop();
    result.context("the HTTP server failed")
}
