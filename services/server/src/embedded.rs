//! The embedded default: with no `DATABASE_URL`, Dixian runs a private PostgreSQL cluster
//! under its data directory, using the machine's `initdb`/`pg_ctl`, and stops it on shutdown.
//!
//! PostgreSQL refuses to run as root, so as root the cluster runs as the unprivileged
//! `postgres` user (via `setpriv`). The cluster listens on 127.0.0.1 only, on a free port, with
//! trust authentication for that loopback address: it is private to this machine's users, the
//! way a development database is. Production sets `DATABASE_URL`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const INSTALL_HINT: &str = "PostgreSQL (15 or newer) is not installed. Install it with \
`apt-get install -y postgresql` (Debian/Ubuntu) or `dnf install postgresql-server` (Fedora/RHEL), \
or point DATABASE_URL at an existing server, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/dixian";

/// A running private cluster.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    pgdata: PathBuf,
    bin: PathBuf,
    run_as: Option<String>,
    port: u16,
}

impl EmbeddedPostgres {
    /// Initialises (first time) and starts the cluster under `data_dir/pg`.
    pub fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let bin = match find_bin_dir() {
            Ok(bin) => bin,
            Err(_) => {
                install_postgres()?;
                find_bin_dir().context(INSTALL_HINT)?
            }
        };
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
        let data_dir = data_dir.canonicalize()?;
        let pgdata = data_dir.join("pg");
        let run_as = if is_root()? {
            Some(unprivileged_user()?)
        } else {
            None
        };
        let me = Self {
            pgdata,
            bin,
            run_as,
            port: free_port()?,
        };
        if !me.pgdata.join("PG_VERSION").exists() {
            me.init()?;
        }
        me.run_pg_ctl(&[
            "start",
            "-w",
            "-t",
            "60",
            "-l",
            me.pgdata
                .join("server.log")
                .to_str()
                .unwrap_or("server.log"),
            "-o",
            &format!(
                "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
                me.port
            ),
        ])
        .with_context(|| {
            format!(
                "PostgreSQL did not start; see {}",
                me.pgdata.join("server.log").display()
            )
        })?;
        tracing::info!(port = me.port, pgdata = %me.pgdata.display(), "embedded PostgreSQL started");
        Ok(me)
    }

    fn init(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.pgdata)?;
        if let Some(user) = &self.run_as {
            let status = Command::new("chown")
                .args([
                    "-R",
                    &format!("{user}:{user}"),
                    self.pgdata.to_str().unwrap_or_default(),
                ])
                .status()?;
            if !status.success() {
                bail!("cannot hand {} to the {user} user", self.pgdata.display());
            }
        }
        let initdb = self.bin.join("initdb");
        let pgdata = self.pgdata.to_str().unwrap_or_default().to_owned();
        self.run(
            &initdb,
            &[
                "-D",
                &pgdata,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        )
        .context("initdb failed")
    }

    fn run_pg_ctl(&self, args: &[&str]) -> anyhow::Result<()> {
        let pg_ctl = self.bin.join("pg_ctl");
        let mut all = vec!["-D", self.pgdata.to_str().unwrap_or_default()];
        all.extend_from_slice(args);
        self.run(&pg_ctl, &all)
    }

    fn run(&self, program: &Path, args: &[&str]) -> anyhow::Result<()> {
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("setpriv");
                c.args([
                    &format!("--reuid={user}"),
                    &format!("--regid={user}"),
                    "--init-groups",
                    "--",
                ]);
                c.arg(program);
                c
            }
            None => Command::new(program),
        };
        let out = cmd
            .args(args)
            .current_dir(&self.pgdata)
            .output()
            .with_context(|| format!("cannot run {}", program.display()))?;
        if !out.status.success() {
            bail!(
                "{} exited with {}: {}{}",
                program.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// The administrator URL of the `dixian` database in this cluster.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/dixian", self.port)
    }

    /// URL of the maintenance database, for creating `dixian`.
    pub fn maintenance_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the cluster (fast shutdown: sessions are ended, committed data is safe).
    pub fn stop(&self) {
        match self.run_pg_ctl(&["stop", "-m", "fast", "-w"]) {
            Ok(()) => tracing::info!("embedded PostgreSQL stopped"),
            Err(e) => tracing::warn!(error = %e, "embedded PostgreSQL did not stop cleanly"),
        }
    }
}

fn find_bin_dir() -> anyhow::Result<PathBuf> {
    let has_tools = |d: &Path| d.join("initdb").exists() && d.join("pg_ctl").exists();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_tools(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|d| has_tools(d))
                .collect()
        })
        .unwrap_or_default();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(dir) = versions.pop() {
        return Ok(dir);
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let dir = PathBuf::from(dir);
        if has_tools(&dir) {
            return Ok(dir);
        }
    }
    bail!("initdb and pg_ctl were not found")
}

/// On a fresh Debian/Ubuntu machine, as root, installs PostgreSQL (the run command must work
/// from a clean clone); anywhere else, says exactly how. `DIXIAN_NO_INSTALL=1` turns it off.
fn install_postgres() -> anyhow::Result<()> {
    let can = is_root().unwrap_or(false)
        && std::path::Path::new("/usr/bin/apt-get").exists()
        && std::env::var("DIXIAN_NO_INSTALL").is_err();
    if !can {
        bail!(INSTALL_HINT);
    }
    eprintln!(
        "PostgreSQL is not installed: installing it with apt-get (set DIXIAN_NO_INSTALL=1 to prevent this)"
    );
    for args in [
        &["update", "-qq"][..],
        &["install", "-y", "-qq", "postgresql"][..],
    ] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()?;
        if !status.success() {
            bail!("apt-get {} failed; {INSTALL_HINT}", args.join(" "));
        }
    }
    Ok(())
}

fn is_root() -> anyhow::Result<bool> {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .context("cannot run `id -u`")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn unprivileged_user() -> anyhow::Result<String> {
    let ok = Command::new("id")
        .arg("-u")
        .arg("postgres")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        Ok("postgres".into())
    } else {
        bail!(
            "running as root, the embedded PostgreSQL needs an unprivileged `postgres` user \
               (the Debian postgresql package creates it), or set DATABASE_URL"
        )
    }
}

fn free_port() -> anyhow::Result<u16> {
    if let Ok(p) = std::env::var("DIXIAN_PG_PORT") {
        return p.parse().context("DIXIAN_PG_PORT must be a port number");
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
