//! The real `dixian` binary with no DATABASE_URL: it starts its own PostgreSQL cluster, serves,
//! and on SIGTERM finishes, stops the cluster and exits cleanly.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{free_port, wait_ready};

fn dixian(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dixian"));
    cmd.env_remove("DATABASE_URL")
        .env_remove("DIXIAN_JWT_SECRET")
        .env_remove("DIXIAN_PII_KEY")
        .env("DIXIAN_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn");
    cmd
}

#[tokio::test]
async fn serve_without_database_url_runs_an_embedded_postgres_and_stops_it_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("dixian-bin-{}", uuid_like()));
    // Bootstrap a user first: the CLI starts and stops the same private cluster.
    let out = dixian(&dir)
        .args([
            "user-add",
            "--name",
            "审计员",
            "--role",
            "AUDITOR",
            "--jurisdiction",
            "370305",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let added: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = added["token"].as_str().unwrap().to_owned();

    let port = free_port();
    let mut child = dixian(&dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&mut child, &base, Duration::from_secs(90)).await;
    let client = reqwest::Client::new();
    let resp: serde_json::Value = client
        .post(format!("{base}/graphql"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "query": "{ me { name role { code } } ledgers { ledger lastSeq } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp["data"]["me"]["name"], "审计员", "{resp}");
    assert_eq!(
        resp["data"]["ledgers"][0]["ledger"], "370305",
        "the user's stream opened the county ledger: {resp}"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exit.success(), "clean exit after SIGTERM, got {exit}");
    assert!(
        !dir.join("pg/postmaster.pid").exists(),
        "the embedded PostgreSQL was stopped"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        "serve",
        "migrate",
        "verify",
        "rebuild",
        "anchor",
        "token",
        "open-ledger",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_dixian"))
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{sub} --help");
        assert!(!out.stdout.is_empty());
    }
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
            ^ (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos())
    )
}

#[test]
fn pool_settings_out_of_range_stop_the_binary_with_the_variable_named() {
    for (var, value) in [
        ("DIXIAN_DB_ACQUIRE_TIMEOUT_MS", "abc"),
        ("DIXIAN_DB_ACQUIRE_TIMEOUT_MS", "0"),
        ("DIXIAN_DB_ACQUIRE_TIMEOUT_MS", "99999999999999999999999"),
        ("DIXIAN_DB_BACKGROUND_CONNECTIONS", "0"),
        ("DIXIAN_DB_BACKGROUND_CONNECTIONS", "-4"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_dixian"))
            .args(["token", "--user", "00000000-0000-0000-0000-000000000001"])
            .env(var, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}={value} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(var), "{var}={value}: {stderr}");
    }
}
