//! `dixian-bench`: the benchmark suite of issue 5. Every figure is printed beside a baseline
//! measured in the same run against the same database, because on a shared 2-core VM only
//! ratios measured side by side mean anything.
//!
//! Order of a run (each step's log size matters for the next):
//! 1. a fresh database `dixian_bench_…`, migrated, ledger 370305 opened;
//! 2. append throughput, 1-event then 10-event commands, raw / off / group commit per client
//!    count (peak RSS during the 64-client group-commit cells);
//! 3. fill the ledger to `--events` through the store (what the appends wrote counts), then
//!    rebuild vs COPY and verify vs SQL;
//! 4. fill to `--growth-events` if larger, then append latency on that log against a second,
//!    fresh database (the empty log), alternating;
//! 5. drop the databases (unless `--keep`).

mod appends;
mod cell;
mod growth;
mod load;
mod noise;
mod payload;
mod probe;
mod raw;
mod rebuild;
mod report;
mod setup;
mod stats;
mod verify;

use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Parser, ValueEnum};

use crate::cell::Timing;
use crate::report::{Row, Table, Verdict, rate};
use crate::setup::BenchDb;

/// Peak RSS target for the process hosting the store under the 64-client run, MiB.
const RSS_TARGET_MIB: f64 = 200.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Section {
    /// Sections 1, 2 and 6: append throughput and latency, peak memory.
    Appends,
    /// Section 3: projection rebuild against COPY.
    Rebuild,
    /// Section 4: chain verification against a PL/pgSQL verifier.
    Verify,
    /// Section 5: append latency on an empty log and with N events stored.
    Growth,
}

/// Benchmarks the Dixian event store against PostgreSQL baselines measured in the same run.
#[derive(Debug, Parser)]
#[command(name = "dixian-bench", version)]
struct Args {
    /// Administrator URL; the bench creates (and drops) a database of its own on this server.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Smoke run: short cells and a 20 000-event ledger (under a minute).
    #[arg(long)]
    quick: bool,
    /// Measured seconds per append cell [default: 4, quick 0.3].
    #[arg(long)]
    seconds: Option<f64>,
    /// Warm-up seconds per append cell, not counted [default: 1, quick 0.1].
    #[arg(long)]
    warmup: Option<f64>,
    /// Client counts of the append sections.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64")]
    clients: Vec<usize>,
    /// Ledger size for rebuild and verify [default: 1000000, quick 20000].
    #[arg(long)]
    events: Option<i64>,
    /// Log size for the growth comparison [default: --events]; 10000000 for the 10M.
    #[arg(long)]
    growth_events: Option<i64>,
    /// Alternating rounds of the growth comparison [default: 3, quick 1].
    #[arg(long)]
    growth_rounds: Option<usize>,
    /// Events per command while loading the ledger (each command a new household stream).
    #[arg(long, default_value_t = 100)]
    load_command_events: usize,
    /// Service connection pool size, as `DIXIAN_DB_CONNECTIONS`.
    #[arg(long, default_value_t = 16)]
    connections: u32,
    /// Append variants to run: raw (the ceiling), off, on (group commit).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "raw,off,on")]
    variants: Vec<appends::Variant>,
    /// Extra attempts of a cell disturbed by other processes' CPU use [default: 2, quick 0].
    #[arg(long)]
    retries: Option<u32>,
    /// Seconds to wait, before each cell, for other processes to go quiet [default: 20,
    /// quick 0].
    #[arg(long)]
    quiet_wait: Option<f64>,
    /// Sections to run [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    sections: Vec<Section>,
    /// Profiling: log the plan of every store statement slower than this (ms) to the
    /// PostgreSQL server log, via auto_explain (needs a superuser DATABASE_URL).
    #[arg(long)]
    explain_slower_than_ms: Option<u32>,
    /// Keep the bench database instead of dropping it.
    #[arg(long)]
    keep: bool,
}

impl Args {
    fn timing(&self) -> Timing {
        let (measure, warmup) = if self.quick { (0.3, 0.1) } else { (4.0, 1.0) };
        Timing {
            measure: Duration::from_secs_f64(self.seconds.unwrap_or(measure)),
            warmup: Duration::from_secs_f64(self.warmup.unwrap_or(warmup)),
        }
    }

    fn events(&self) -> i64 {
        self.events
            .unwrap_or(if self.quick { 20_000 } else { 1_000_000 })
    }

    fn runs(&self, s: Section) -> bool {
        self.sections.is_empty() || self.sections.contains(&s)
    }
}

/// The server's allocator (see `services/server/src/main.rs`), so the bench measures what runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let probe = probe::install();
    let started = Instant::now();
    let db = BenchDb::create(
        &args.database_url,
        "",
        args.connections,
        args.explain_slower_than_ms,
    )
    .await?;
    eprintln!("bench database {}", db.name);
    let result = run(&args, &db, &probe).await;
    db.finish(args.keep).await?;
    let tables = result?;
    println!("{}", machine_note(&args, started.elapsed()));
    for t in &tables {
        println!("{}", t.render());
    }
    println!("{}", summary(&tables));
    Ok(())
}

async fn run(args: &Args, db: &BenchDb, probe: &probe::Batches) -> Result<Vec<Table>> {
    let ctx = cell::Ctx {
        timing: args.timing(),
        probe,
        database: &db.name,
        retries: args.retries.unwrap_or(if args.quick { 0 } else { 2 }),
        quiet_wait: Duration::from_secs_f64(args.quiet_wait.unwrap_or(if args.quick {
            0.0
        } else {
            20.0
        })),
    };
    let mut tables = Vec::new();
    // Measured with the appends, printed last, in the order.
    let mut memory = None;

    if args.runs(Section::Appends) {
        appends::prepare(db).await?;
        let mut peak = 0.0_f64;
        for (events, title) in [
            (1, "1. Append, 1 event per command, one ledger"),
            (10, "2. Append, 10 events per command, one ledger"),
        ] {
            eprintln!("appends: {events}-event commands");
            let triples = appends::section(db, &ctx, events, &args.clients, &args.variants).await?;
            peak = triples
                .iter()
                .filter_map(|t| t.on.as_ref().and_then(|c| c.peak_rss_mib))
                .fold(peak, f64::max);
            tables.push(appends::table(title, &triples));
        }
        memory = Some(rss_table(peak));
    }

    if args.runs(Section::Rebuild) || args.runs(Section::Verify) {
        eprintln!("loading the ledger");
        let loaded = load::fill(db, args.events(), args.load_command_events).await?;
        if loaded.events > 0 {
            let mut t = Table::new("Ledger load (through the store, group commit on)");
            t.rows.push(load_row(&loaded, args.load_command_events));
            tables.push(t);
        }
        if args.runs(Section::Rebuild) {
            tables.push(rebuild::table(&rebuild::measure(db).await?));
        }
        if args.runs(Section::Verify) {
            tables.push(verify::table(&verify::measure(db).await?));
        }
    }

    if args.runs(Section::Growth) {
        let target = args.growth_events.unwrap_or_else(|| args.events());
        let loaded = load::fill(db, target, args.load_command_events).await?;
        if loaded.events > 0 {
            let mut t = Table::new("Growth load (through the store, group commit on)");
            t.rows.push(load_row(&loaded, args.load_command_events));
            tables.push(t);
        }
        eprintln!("growth: empty log vs full log, alternating");
        let rounds = args.growth_rounds.unwrap_or(if args.quick { 1 } else { 3 });
        let empty_log = growth::EmptyLog {
            url: &args.database_url,
            connections: args.connections,
        };
        let (empty, full) = growth::measure(db, empty_log, &ctx, rounds).await?;
        tables.push(growth::table(&empty, &full, rounds));
    }
    tables.extend(memory);
    Ok(tables)
}

fn load_row(loaded: &load::Loaded, command_events: usize) -> Row {
    Row {
        scenario: format!(
            "{} events in {command_events}-event commands, {:.1} s",
            rate(loaded.events as f64),
            loaded.seconds
        ),
        clients: load::LOADERS.to_string(),
        ops: rate(loaded.events_per_s() / command_events as f64),
        events: rate(loaded.events_per_s()),
        ..Row::default()
    }
}

fn rss_table(peak: f64) -> Table {
    let mut t = Table::new("6. Peak memory of the process hosting the store");
    t.rows.push(Row {
        scenario: format!("VmHWM during the 64-client group-commit runs: **{peak:.0} MiB**"),
        clients: "64".into(),
        ratio: format!("{:.2}× of the limit", peak / RSS_TARGET_MIB),
        target: format!("< {RSS_TARGET_MIB:.0} MiB"),
        verdict: Some(Verdict::of(peak > 0.0 && peak < RSS_TARGET_MIB)),
        ..Row::default()
    });
    t.notes.push(
        "The bench process hosts the store, its group-commit writer and the 64 clients: the \
         server side of the run. The dossier query over HTTP is measured by \
         `dixian-bench-dossier` (docs/benchmarks.md)."
            .into(),
    );
    t
}

/// Where and how the figures were taken.
fn machine_note(args: &Args, elapsed: Duration) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    let t = args.timing();
    format!(
        "## dixian-bench{}\n\n{cores} cores, {mem} memory; cells: {:.1} s warm-up + {:.1} s measured; \
         service pool {} connections; whole run {:.0} s.\n",
        if args.quick { " (quick)" } else { "" },
        t.warmup.as_secs_f64(),
        t.measure.as_secs_f64(),
        args.connections,
        elapsed.as_secs_f64()
    )
}

fn summary(tables: &[Table]) -> String {
    let mut out = String::from("### Targets\n\n");
    for (title, row) in tables.iter().flat_map(Table::judged) {
        let verdict = if row.verdict == Some(Verdict::Pass) {
            "pass"
        } else {
            "FAIL"
        };
        out.push_str(&format!(
            "- {verdict}: {title} — {} ({} client{}): {} vs target {}\n",
            row.scenario.replace("**", ""),
            row.clients,
            if row.clients == "1" { "" } else { "s" },
            row.ratio,
            row.target
        ));
    }
    out
}
