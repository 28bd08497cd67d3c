//! The real `dixian` binary killed with SIGKILL in the middle of a burst of 400 warnings and
//! started again at once: every warning is answered once it is sent again with its command
//! id — accepted, or `OVERLOADED` and then accepted — never `INTERNAL`, and each identical pair
//! is still one alert.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dixian_domain::id_card::IdNumber;
use serde_json::{Value, json};
use sqlx::Connection;

mod common;
use common::{free_port, wait_ready};

const VILLAGE: &str = "370305004201";
const HOUSEHOLDS: usize = 200;

const RAISE: &str = "mutation($i: RaiseAlertInput!) {
  raiseAlert(input: $i) { alert { id householdId } linkedTo } }";

struct Server {
    db_url: String,
    data_dir: std::path::PathBuf,
    port: u16,
}

impl Server {
    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dixian"));
        cmd.env("DATABASE_URL", &self.db_url)
            .env("DIXIAN_DATA_DIR", &self.data_dir)
            .env("DIXIAN_JWT_SECRET", "crash-burst-secret-0123456789")
            .env("DIXIAN_PII_KEY", "crash-burst-pii-key-0123456789")
            .env("DIXIAN_DB_CONNECTIONS", "16")
            .env("RUST_LOG", "error");
        cmd
    }

    fn user(&self, role: &str, jurisdiction: &str) -> String {
        let out = self
            .command()
            .args([
                "user-add",
                "--name",
                "测试",
                "--role",
                role,
                "--jurisdiction",
                jurisdiction,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let added: Value = serde_json::from_slice(&out.stdout).unwrap();
        added["token"].as_str().unwrap().to_owned()
    }

    async fn start(&self) -> Child {
        let mut child = self
            .command()
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{}", self.port);
        wait_ready(&mut child, &base, Duration::from_secs(60)).await;
        child
    }
}

fn id_number(serial: usize) -> String {
    let first17 = format!("37030519800101{serial:03}");
    let check = IdNumber::check_digit(&first17).unwrap();
    format!("{first17}{check}")
}

/// One request sent until it is answered with data: connection failures (the server is down)
/// and `OVERLOADED` are retried with the same command id; any other error fails the test.
/// Returns the answer and the `OVERLOADED` and connection failures met.
async fn send_until_answered(
    client: reqwest::Client,
    url: String,
    token: String,
    query: &'static str,
    vars: Value,
) -> (Value, u32, u32) {
    let (mut overloaded, mut unreachable) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "never answered: {vars}");
        let sent = client
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({ "query": query, "variables": vars }))
            .send()
            .await;
        let resp: Value = match sent {
            Ok(r) => match r.json().await {
                Ok(v) => v,
                Err(_) => {
                    unreachable += 1; // cut off mid-answer by the kill
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            Err(_) => {
                unreachable += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        match resp["errors"][0]["extensions"]["code"].as_str() {
            None => return (resp, overloaded, unreachable),
            Some("OVERLOADED") => {
                overloaded += 1;
                let after = resp["errors"][0]["extensions"]["retryAfter"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("OVERLOADED without retryAfter: {resp}"));
                tokio::time::sleep(Duration::from_secs(after)).await;
            }
            Some(_) => panic!("a request failed: {resp}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_warnings_through_a_kill_minus_nine_is_answered_once_each() {
    let server_url = std::env::var("DATABASE_URL").expect("DATABASE_URL (tests/run.sh sets it)");
    let name = format!("dixian_e2e_crash_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&server_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let base = server_url
        .rsplit_once('/')
        .map_or(server_url.as_str(), |(b, _)| b);
    let server = Server {
        db_url: format!("{base}/{name}"),
        data_dir: std::env::temp_dir().join(&name),
        port: free_port(),
    };
    let county = server.user("COUNTY_OFFICER", "370305");
    let grid = server.user("GRID_WORKER", VILLAGE);
    let mut child = server.start().await;
    let url = format!("http://127.0.0.1:{}/graphql", server.port);
    let client = reqwest::Client::new();

    let mut households = Vec::new();
    for serial in 0..HOUSEHOLDS {
        let (resp, _, _) = send_until_answered(
            client.clone(),
            url.clone(),
            grid.clone(),
            "mutation($i: RegisterHouseholdInput!) { registerHousehold(input: $i) { household { id } } }",
            json!({ "i": {
                "commandId": uuid::Uuid::now_v7(), "village": VILLAGE, "address": "朱台镇某村",
                "head": { "name": "张三", "idNumber": id_number(serial), "relation": "HEAD",
                          "health": "CHRONIC", "labour": "WEAK", "schooling": "NONE",
                          "employment": "FARMING", "safetyNet": "NONE" } } }),
        )
        .await;
        households.push(
            resp["data"]["registerHousehold"]["household"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    // 400 warnings (two identical per household), each with its own command id, all at once.
    let raises: Vec<_> = households
        .iter()
        .flat_map(|h| [h.clone(), h.clone()])
        .map(|h| {
            let vars = json!({ "i": {
                "commandId": uuid::Uuid::now_v7(), "village": VILLAGE, "householdId": h,
                "source": "DEPARTMENT_DATA", "department": "MEDICAL_INSURANCE",
                "triggerCode": "MEDICAL_OUT_OF_POCKET", "triggerText": "自付超过 2 万元",
                "severity": "HIGH" } });
            tokio::spawn(send_until_answered(
                client.clone(),
                url.clone(),
                county.clone(),
                RAISE,
                vars,
            ))
        })
        .collect();
    // In the middle of it: SIGKILL, and start again at once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let restarted = Instant::now();
    let mut child = server.start().await;
    let ready_after = restarted.elapsed();

    let mut alerts: std::collections::HashMap<String, Vec<(String, bool)>> = Default::default();
    let (mut overloaded, mut unreachable) = (0, 0);
    for r in raises {
        let (answer, o, u) = r.await.unwrap();
        overloaded += o;
        unreachable += u;
        let raised = &answer["data"]["raiseAlert"];
        alerts
            .entry(raised["alert"]["householdId"].as_str().unwrap().to_owned())
            .or_default()
            .push((
                raised["alert"]["id"].as_str().unwrap().to_owned(),
                raised["linkedTo"].is_null(),
            ));
    }
    eprintln!(
        "ready {ready_after:?} after the kill; {overloaded} OVERLOADED and {unreachable} unreachable answers, all retried"
    );
    assert!(unreachable > 0, "the kill happened during the burst");
    assert_eq!(alerts.len(), HOUSEHOLDS);
    for (household, pair) in &alerts {
        assert_eq!(pair.len(), 2);
        assert_eq!(pair[0].0, pair[1].0, "one alert for {household}: {pair:?}");
        assert_eq!(
            pair.iter().filter(|(_, new)| *new).count(),
            1,
            "one raise opened it, the other was recorded on it: {pair:?}"
        );
    }

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&mut admin)
    .await;
    let _ = std::fs::remove_dir_all(&server.data_dir);
}
