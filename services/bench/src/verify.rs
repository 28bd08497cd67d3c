//! Section 4: chain verification in Rust (`dixian_store::verify::verify_ledger`) against the
//! same check written in PL/pgSQL inside the database (verify.sql), which spares the network
//! and the client but hashes through SQL expressions.

use std::time::Instant;

use anyhow::{Result, ensure};
use dixian_store::verify::verify_ledger;

use crate::noise;
use crate::report::{Row, Table, Verdict, rate, ratio};
use crate::setup::{BenchDb, LEDGER};

/// Rust must verify at least this many times faster than the SQL version (issue 5).
pub const TARGET: f64 = 4.0;

/// Rows whose SQL-computed hash is compared with the stored one before timing anything.
const AGREEMENT_ROWS: i64 = 1000;

pub struct Rates {
    pub events: i64,
    pub rust_s: f64,
    pub sql_s: f64,
    /// Foreign CPU (cores) during the Rust and the SQL verification.
    pub foreign: (f64, f64),
}

/// Installs the SQL verifier and checks that it computes the stored hashes.
async fn install(db: &BenchDb) -> Result<()> {
    let mut conn = db.admin.acquire().await?;
    sqlx::raw_sql(include_str!("verify.sql"))
        .execute(&mut *conn)
        .await?;
    let (agree, total): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where sha256(e.prev_hash || bench_canonical(e)) = e.hash), count(*)
           from (select * from es.event where ledger = $1 order by seq limit $2) e",
    )
    .bind(LEDGER)
    .bind(AGREEMENT_ROWS)
    .fetch_one(&mut *conn)
    .await?;
    ensure!(
        total > 0 && agree == total,
        "the SQL verifier disagrees with the stored hashes on {} of the first {total} rows",
        total - agree
    );
    Ok(())
}

pub async fn measure(db: &BenchDb) -> Result<Rates> {
    install(db).await?;
    let events = db.ledger_len().await?;
    eprintln!("  verify: Rust, then PL/pgSQL, over {events} events");
    let mut conn = db.service.acquire().await?;
    let quiet = noise::Snapshot::take(&db.name);
    let started = Instant::now();
    let report = verify_ledger(&mut conn, LEDGER).await?;
    let rust_s = started.elapsed().as_secs_f64();
    let rust_foreign = quiet.foreign_since(&db.name);
    ensure!(
        report.ok() && report.checked == events,
        "verify_ledger: {report:?}"
    );
    drop(conn);

    let quiet = noise::Snapshot::take(&db.name);
    let started = Instant::now();
    let (checked, bad, damage): (i64, Option<i64>, Option<String>) =
        sqlx::query_as("select checked, bad_seq, damage from bench_verify_ledger($1)")
            .bind(LEDGER)
            .fetch_one(&db.admin)
            .await?;
    let sql_s = started.elapsed().as_secs_f64();
    let sql_foreign = quiet.foreign_since(&db.name);
    ensure!(
        bad.is_none() && checked == events,
        "the SQL verifier found {damage:?} at {bad:?} after {checked} rows"
    );
    Ok(Rates {
        events,
        rust_s,
        sql_s,
        foreign: (rust_foreign, sql_foreign),
    })
}

pub fn table(r: &Rates) -> Table {
    let mut t = Table::new(format!(
        "4. Chain verification over a {}-event ledger",
        rate(r.events as f64)
    ));
    let sql_rate = r.events as f64 / r.sql_s;
    let rust_rate = r.events as f64 / r.rust_s;
    t.rows.push(Row {
        scenario: "PL/pgSQL verifier in the database (sha256, int4send, convert_to)".into(),
        clients: "1".into(),
        events: rate(sql_rate),
        baseline: "(baseline)".into(),
        ..Row::default()
    });
    let speedup = rust_rate / sql_rate;
    t.rows.push(Row {
        scenario: "**verify_ledger (Rust)**".into(),
        clients: "1".into(),
        events: rate(rust_rate),
        baseline: format!("SQL {}/s", rate(sql_rate)),
        ratio: ratio(speedup),
        target: format!("≥ {TARGET}×"),
        verdict: Some(Verdict::of(speedup >= TARGET)),
        ..Row::default()
    });
    t.notes.push(format!(
        "Both checked every row and found the chain intact; the SQL verifier agreed with the \
         stored hashes on the first {AGREEMENT_ROWS} rows before timing. Rust {:.2} s, SQL {:.2} s; \
         other processes used at most {:.0} % / {:.0} % of a core meanwhile.",
        r.rust_s,
        r.sql_s,
        100.0 * r.foreign.0,
        100.0 * r.foreign.1
    ));
    t
}
