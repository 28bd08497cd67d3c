//! Exclusive sections across requests and server processes, for the few decisions that span
//! streams (is there already an open alert like this one for the household?): a
//! transaction-scoped advisory lock, released when the guard is released or dropped (the
//! connection then rolls back on its way back to the pool).

use std::time::Duration;

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::StoreError;

/// What a lock serialises; each kind has its own advisory-lock class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Raising an alert about a household (deduplication against its open alerts).
    AlertRaise,
}

impl Section {
    fn class(self) -> i32 {
        match self {
            // ASCII `ALRT`.
            Self::AlertRaise => 0x414c_5254,
        }
    }
}

/// A held lock.
pub struct Exclusive {
    tx: Transaction<'static, Postgres>,
}

impl Exclusive {
    pub async fn release(self) -> Result<(), StoreError> {
        self.tx.rollback().await.map_err(StoreError::from)
    }
}

/// Takes the lock of `section` for `key`, waiting at most `wait`; `None` when another holder
/// kept it that long. Waiting polls without holding a connection, so waiters cannot starve the
/// pool the holder needs.
pub async fn exclusive(
    pool: &PgPool,
    section: Section,
    key: Uuid,
    wait: Duration,
) -> Result<Option<Exclusive>, StoreError> {
    let b = key.as_bytes();
    let key = i32::from_be_bytes([
        b[0] ^ b[4] ^ b[8] ^ b[12],
        b[1] ^ b[5] ^ b[9] ^ b[13],
        b[2] ^ b[6] ^ b[10] ^ b[14],
        b[3] ^ b[7] ^ b[11] ^ b[15],
    ]);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let mut tx = pool.begin().await?;
        let locked: bool = sqlx::query_scalar("select pg_try_advisory_xact_lock($1, $2)")
            .bind(section.class())
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        if locked {
            return Ok(Some(Exclusive { tx }));
        }
        tx.rollback().await?;
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
