//! Connections for the short version probes of the read path, handed back without a ping.
//!
//! sqlx pings every connection it takes back into its pool (`return_to_pool`), because a
//! statement cancelled half-way would leave the connection mid-protocol. For a read that is a
//! single indexed probe the ping doubles the round trips. Here a connection goes back to the
//! idle list only when its user says the work finished ([`ProbeConn::done`]); one dropped
//! without that — cancelled, or after an error — is closed instead, so no connection in an
//! unknown state is ever reused. Connections are opened lazily, as `dixian_app`, up to `size`.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Executor, PgConnection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Clone)]
pub struct ProbePool {
    inner: Arc<Inner>,
}

struct Inner {
    options: PgConnectOptions,
    idle: Mutex<Vec<PgConnection>>,
    permits: Arc<Semaphore>,
}

impl ProbePool {
    /// At most `size` connections (at least one).
    pub fn new(options: PgConnectOptions, size: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                options,
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(size.max(1))),
            }),
        }
    }

    /// An idle connection, or a new one when none is idle and fewer than `size` are open.
    pub async fn acquire(&self) -> Result<ProbeConn, sqlx::Error> {
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.lock().pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                let mut c = self.inner.options.connect().await?;
                c.execute("set role dixian_app; set idle_in_transaction_session_timeout = '30s'")
                    .await?;
                c
            }
        };
        Ok(ProbeConn {
            conn: Some(conn),
            pool: self.clone(),
            finished: false,
            _permit: permit,
        })
    }

    /// Idle connections now (for tests).
    pub fn idle(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PgConnection>> {
        self.inner.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A connection of a [`ProbePool`]; call [`Self::done`] once the work on it completed.
pub struct ProbeConn {
    conn: Option<PgConnection>,
    pool: ProbePool,
    finished: bool,
    _permit: OwnedSemaphorePermit,
}

impl ProbeConn {
    /// The work finished cleanly: the connection may serve the next probe.
    pub fn done(mut self) {
        self.finished = true;
    }
}

impl Deref for ProbeConn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn.as_ref().expect("present until dropped")
    }
}

impl DerefMut for ProbeConn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("present until dropped")
    }
}

impl Drop for ProbeConn {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && self.finished
        {
            self.pool.lock().push(conn);
        }
        // Otherwise `conn` is dropped here, which closes its socket.
    }
}
