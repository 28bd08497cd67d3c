//! The version probes of the read path: batched across concurrent readers, on connections
//! handed back without a ping.
//!
//! **Batching.** [`ProbePool::read_streams_since`] queues the request; one worker per
//! connection takes the first request waiting and every other one queued by then, and answers
//! them all with one [`read::read_streams_since`](crate::read::read_streams_since) — group commit
//! for reads. At low load a request is taken at once (nothing waits for a batch to fill); under
//! load one round trip serves many requests. Every request is read by a statement that starts
//! after the request was queued, so its answer includes everything committed before it asked:
//! batching never serves an older answer.
//!
//! **Connections.**
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
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::error::StoreError;
use crate::read::{self, StreamTail};

/// Most requests answered by one statement.
pub const MAX_BATCH: usize = 64;
/// Requests queued beyond this wait to be queued (back-pressure, not an error).
const QUEUE: usize = 4096;

#[derive(Clone)]
pub struct ProbePool {
    inner: Arc<Inner>,
    jobs: mpsc::Sender<Job>,
}

/// One reader's request and where its answer goes.
struct Job {
    streams: Vec<(String, i64)>,
    reply: oneshot::Sender<Result<Vec<StreamTail>, String>>,
}

struct Inner {
    options: PgConnectOptions,
    idle: Mutex<Vec<PgConnection>>,
    permits: Arc<Semaphore>,
}

impl ProbePool {
    /// At most `size` connections (at least one), and as many batching workers. Must be called
    /// inside a Tokio runtime; the workers end when the last clone of the pool is dropped.
    pub fn new(options: PgConnectOptions, size: usize) -> Self {
        let size = size.max(1);
        let inner = Arc::new(Inner {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size)),
        });
        let (jobs, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..size {
            tokio::spawn(work(inner.clone(), rx.clone()));
        }
        Self { inner, jobs }
    }

    /// Each stream's current version and its events above the given version (see
    /// [`read::read_streams_since`]), read in a batch with whatever other readers asked for
    /// meanwhile.
    pub async fn read_streams_since(
        &self,
        streams: &[(&str, i64)],
    ) -> Result<Vec<StreamTail>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            streams: streams.iter().map(|(s, v)| ((*s).to_owned(), *v)).collect(),
            reply,
        };
        let gone = || StoreError::Unavailable("the probe workers stopped".into());
        self.jobs.send(job).await.map_err(|_| gone())?;
        answer
            .await
            .map_err(|_| gone())?
            .map_err(StoreError::Unavailable)
    }

    /// An idle connection, or a new one when none is idle and fewer than `size` are open.
    pub async fn acquire(&self) -> Result<ProbeConn, sqlx::Error> {
        acquire(&self.inner).await
    }

    /// Idle connections now (for tests).
    pub fn idle(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PgConnection>> {
        self.inner.lock()
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PgConnection>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn acquire(inner: &Arc<Inner>) -> Result<ProbeConn, sqlx::Error> {
    let permit = inner
        .permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| sqlx::Error::PoolClosed)?;
    let idle = inner.lock().pop();
    let conn = match idle {
        Some(c) => c,
        None => {
            let mut c = inner.options.connect().await?;
            c.execute(crate::db::SESSION_SETUP).await?;
            c
        }
    };
    Ok(ProbeConn {
        conn: Some(conn),
        home: inner.clone(),
        finished: false,
        _permit: permit,
    })
}

/// A batching worker: takes the first queued request and all queued after it, answers them with
/// one read.
async fn work(inner: Arc<Inner>, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>) {
    // Holds the connections, not the queue's sender: dropping every pool ends the workers.
    loop {
        let jobs = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else {
                return;
            };
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            jobs
        };
        let pairs: Vec<(&str, i64)> = jobs
            .iter()
            .flat_map(|j| j.streams.iter().map(|(s, v)| (s.as_str(), *v)))
            .collect();
        let read = async {
            let mut conn = acquire(&inner).await?;
            let tails = read::read_streams_aligned(&mut conn, &pairs).await?;
            conn.done();
            Ok::<_, StoreError>(tails)
        }
        .await;
        metrics::histogram!("dixian_probe_batch_size").record(jobs.len() as f64);
        match read {
            Ok(tails) => {
                let mut tails = tails.into_iter();
                for job in jobs {
                    let mine = tails.by_ref().take(job.streams.len()).flatten().collect();
                    let _ = job.reply.send(Ok(mine));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for job in jobs {
                    let _ = job.reply.send(Err(message.clone()));
                }
            }
        }
    }
}

/// A connection of a [`ProbePool`]; call [`Self::done`] once the work on it completed.
pub struct ProbeConn {
    conn: Option<PgConnection>,
    home: Arc<Inner>,
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
            self.home.lock().push(conn);
        }
        // Otherwise `conn` is dropped here, which closes its socket.
    }
}
