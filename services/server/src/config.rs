//! Configuration, read once from the environment and flags; fails fast with a clear message.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use dixian_store::AnchorKey;

/// The server's settings. Secrets are redacted in `Debug`.
#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`; without it the embedded cluster under `data_dir` is used.
    pub database_url: Option<String>,
    /// `DIXIAN_DATA_DIR` (default `.dixian`): the embedded cluster and generated secrets.
    pub data_dir: PathBuf,
    /// `DIXIAN_LISTEN` (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// `DIXIAN_JWT_SECRET`: signs bearer tokens. Generated into the data dir when absent.
    pub jwt_secret: String,
    /// `DIXIAN_PII_KEY`: encrypts ID and phone numbers and keys their lookup hashes.
    /// Generated into the data dir when absent (keep it: without it sealed data cannot be read).
    pub pii_key: String,
    /// `DIXIAN_ANCHOR_KEY` (`key-id:secret`): signs ledger anchors. Optional.
    pub anchor_key: Option<AnchorKey>,
    /// `DIXIAN_GROUP_COMMIT` (default on).
    pub group_commit: bool,
    /// `DIXIAN_INTROSPECTION` (default on): GraphQL introspection and suggestions.
    pub introspection: bool,
    /// `DIXIAN_DB_CONNECTIONS` (default 16): the request pool.
    pub max_connections: u32,
    /// `DIXIAN_DB_BACKGROUND_CONNECTIONS` (default 4): projections and reactors, apart from
    /// requests so that neither starves the other.
    pub background_connections: u32,
    /// `DIXIAN_DB_ACQUIRE_TIMEOUT_MS` (default 3000): how long a request waits for a free
    /// connection before it is answered `OVERLOADED`.
    pub acquire_timeout: std::time::Duration,
    /// `DIXIAN_FOLD_CACHE` (default 131072): folds kept in memory between reads, bounded by the
    /// events they stand for, per kind (households, users, policies); 0 folds every read from
    /// the start.
    pub fold_cache: usize,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field(
                "database_url",
                &self.database_url.as_ref().map(|u| redact_url(u)),
            )
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("jwt_secret", &"<redacted>")
            .field("pii_key", &"<redacted>")
            .field("anchor_key", &self.anchor_key)
            .field("group_commit", &self.group_commit)
            .field("introspection", &self.introspection)
            .field("max_connections", &self.max_connections)
            .field("background_connections", &self.background_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("fold_cache", &self.fold_cache)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn flag(name: &str, default: bool) -> anyhow::Result<bool> {
    match env(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "on" | "yes") => Ok(true),
        Some("0" | "false" | "off" | "no") => Ok(false),
        Some(other) => bail!("{name} must be on or off, got {other:?}"),
    }
}

impl Config {
    /// Reads the environment. `listen` and `data_dir` may be overridden by flags afterwards.
    pub fn from_env() -> anyhow::Result<Self> {
        let data_dir = PathBuf::from(env("DIXIAN_DATA_DIR").unwrap_or_else(|| ".dixian".into()));
        let listen = env("DIXIAN_LISTEN")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .context("DIXIAN_LISTEN must be host:port, e.g. 127.0.0.1:8080")?;
        let anchor_key = match env("DIXIAN_ANCHOR_KEY") {
            None => None,
            Some(v) => {
                let (id, secret) = v
                    .split_once(':')
                    .context("DIXIAN_ANCHOR_KEY must be key-id:secret")?;
                if secret.len() < 16 {
                    bail!("DIXIAN_ANCHOR_KEY's secret needs at least 16 characters");
                }
                Some(AnchorKey {
                    key_id: id.to_owned(),
                    secret: secret.as_bytes().to_vec(),
                })
            }
        };
        let max_connections = match env("DIXIAN_DB_CONNECTIONS") {
            None => 16,
            Some(v) => v
                .parse()
                .context("DIXIAN_DB_CONNECTIONS must be a number")?,
        };
        let background_connections = match env("DIXIAN_DB_BACKGROUND_CONNECTIONS") {
            None => 4,
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| *n >= 1)
                .context("DIXIAN_DB_BACKGROUND_CONNECTIONS must be a number of at least 1")?,
        };
        let acquire_timeout = match env("DIXIAN_DB_ACQUIRE_TIMEOUT_MS") {
            None => std::time::Duration::from_secs(3),
            Some(v) => std::time::Duration::from_millis(
                v.parse()
                    .ok()
                    .filter(|ms| (1..=600_000).contains(ms))
                    .context(
                        "DIXIAN_DB_ACQUIRE_TIMEOUT_MS must be milliseconds from 1 to 600000",
                    )?,
            ),
        };
        let fold_cache = match env("DIXIAN_FOLD_CACHE") {
            None => dixian_api::fold_cache::DEFAULT_CAPACITY,
            Some(v) => v
                .parse()
                .context("DIXIAN_FOLD_CACHE must be a number of events")?,
        };
        let database_url = env("DATABASE_URL");
        if let Some(url) = &database_url
            && !url.starts_with("postgres://")
            && !url.starts_with("postgresql://")
        {
            bail!(
                "DATABASE_URL must start with postgres:// (got {})",
                redact_url(url)
            );
        }
        Ok(Self {
            database_url,
            data_dir,
            listen,
            jwt_secret: env("DIXIAN_JWT_SECRET").unwrap_or_default(),
            pii_key: env("DIXIAN_PII_KEY").unwrap_or_default(),
            anchor_key,
            group_commit: flag("DIXIAN_GROUP_COMMIT", true)?,
            introspection: flag("DIXIAN_INTROSPECTION", true)?,
            max_connections,
            background_connections,
            acquire_timeout,
            fold_cache,
        })
    }

    /// Fills in the token and personal-data secrets when none is configured: generated once
    /// into the data directory (mode 0600) so tokens issued by `dixian token` stay valid and
    /// sealed personal data stays readable across restarts.
    pub fn ensure_secrets(&mut self) -> anyhow::Result<()> {
        self.jwt_secret = secret(
            &self.data_dir,
            "DIXIAN_JWT_SECRET",
            &self.jwt_secret,
            "jwt-secret",
        )?;
        self.pii_key = secret(&self.data_dir, "DIXIAN_PII_KEY", &self.pii_key, "pii-key")?;
        Ok(())
    }
}

fn secret(
    data_dir: &std::path::Path,
    var: &str,
    configured: &str,
    file: &str,
) -> anyhow::Result<String> {
    if !configured.is_empty() {
        if configured.len() < 16 {
            bail!("{var} needs at least 16 characters");
        }
        return Ok(configured.to_owned());
    }
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join(file);
    if let Ok(s) = std::fs::read_to_string(&path)
        && s.trim().len() >= 16
    {
        return Ok(s.trim().to_owned());
    }
    let value = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    std::fs::write(&path, &value).with_context(|| format!("cannot write {}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_a_redacted_url() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/dixian"),
            "postgres://app:***@db:5432/dixian"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/dixian"),
            "postgres://postgres@127.0.0.1/dixian"
        );
    }
}
