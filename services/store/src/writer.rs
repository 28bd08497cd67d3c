//! Group commit: one writer task per ledger takes every command waiting for that ledger and
//! appends them in one transaction — one commit, one fsync, many commands. Each command is still
//! checked on its own (see `append`), so one conflict fails that command, not the batch. The
//! writer never waits for a batch to fill: it takes what is queued *now*, so a lone command
//! goes through at once and batches form only when commands pile up behind a commit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::EventStore;
use crate::error::AppendError;
use crate::model::{AppendRequest, Appended};

/// Tuning of the per-ledger writers.
#[derive(Debug, Clone, Copy)]
pub struct GroupCommitConfig {
    /// Commands waiting per ledger before new ones are refused with `Overloaded`.
    pub queue_capacity: usize,
    /// Most commands in one transaction.
    pub max_batch: usize,
}

impl Default for GroupCommitConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 4096,
            max_batch: 256,
        }
    }
}

struct Job {
    req: AppendRequest,
    reply: oneshot::Sender<Result<Appended, AppendError>>,
}

pub(crate) struct Writers {
    config: GroupCommitConfig,
    inner: Mutex<Inner>,
}

struct Inner {
    closed: bool,
    queues: HashMap<String, mpsc::Sender<Job>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Writers {
    pub(crate) fn new(config: GroupCommitConfig) -> Self {
        Self {
            config,
            inner: Mutex::new(Inner {
                closed: false,
                queues: HashMap::new(),
                tasks: Vec::new(),
            }),
        }
    }

    pub(crate) async fn submit(
        &self,
        store: EventStore,
        req: AppendRequest,
    ) -> Result<Appended, AppendError> {
        let ledger = req.ledger.to_string();
        let queue = {
            let mut inner = self.inner.lock().expect("writer registry lock");
            if inner.closed {
                return Err(AppendError::ShuttingDown);
            }
            match inner.queues.get(&ledger) {
                Some(q) => q.clone(),
                None => {
                    let (tx, rx) = mpsc::channel(self.config.queue_capacity);
                    let task = tokio::spawn(run(store, ledger.clone(), rx, self.config.max_batch));
                    inner.queues.insert(ledger.clone(), tx.clone());
                    inner.tasks.push(task);
                    tx
                }
            }
        };
        let (reply, answer) = oneshot::channel();
        queue.try_send(Job { req, reply }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => AppendError::Overloaded {
                ledger: ledger.clone(),
            },
            mpsc::error::TrySendError::Closed(_) => AppendError::ShuttingDown,
        })?;
        // The writer always replies; a dropped reply means the writer died mid-batch, and the
        // outcome is unknown: the client retries with the same command id.
        answer.await.map_err(|_| AppendError::ShuttingDown)?
    }

    /// Closes every queue; writers finish what is queued, then exit.
    pub(crate) async fn shutdown(&self, timeout: Duration) {
        let tasks = {
            let mut inner = self.inner.lock().expect("writer registry lock");
            inner.closed = true;
            inner.queues.clear();
            std::mem::take(&mut inner.tasks)
        };
        let all = futures_join(tasks);
        let _ = tokio::time::timeout(timeout, all).await;
    }
}

async fn futures_join(tasks: Vec<JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}

async fn run(store: EventStore, ledger: String, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut jobs: Vec<Job> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.recv().await {
        jobs.push(first);
        while jobs.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        metrics::histogram!("dixian_group_commit_batch_size").record(jobs.len() as f64);
        let reqs: Vec<&AppendRequest> = jobs.iter().map(|j| &j.req).collect();
        match store.append_batch_tx(&ledger, &reqs).await {
            Ok(results) => {
                for (job, result) in jobs.drain(..).zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) if jobs.len() == 1 => {
                let job = jobs.pop().expect("one job");
                let _ = job.reply.send(Err(e));
            }
            Err(e) => {
                // The batch as a whole failed (a rare race, or one request's inline projection):
                // isolate the cause by appending each request on its own.
                tracing::warn!(ledger = %ledger, batch = jobs.len(), error = %e, "group commit batch failed; retrying one by one");
                for job in jobs.drain(..) {
                    let result = store.append_batch_tx(&ledger, &[&job.req]).await;
                    let result = result.and_then(|mut r| r.pop().expect("one result"));
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}
