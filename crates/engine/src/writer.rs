//! The batching writer: check outcomes and heartbeat pings queue here and
//! are written many to a transaction.
//!
//! Why: with one writer connection (SQLite) or a commit per request
//! (Postgres), a transaction per ping or per check caps ingestion at the
//! commit rate. Queuing while a transaction is in flight turns a burst into
//! one commit. Each caller still waits for its own commit, so a `200` on a
//! ping or a stored result means the data is durable.

use std::sync::Arc;

use certsentry_store::{CheckRecord, Store, StoreError, StoreResult};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};

/// At most this many outcomes go into one transaction.
pub const MAX_BATCH: usize = 1024;
/// A batch smaller than this waits up to [`LINGER`] for company: a commit
/// costs about the same for 5 rows as for 100 (WAL pages, statement
/// setup), so under load a short wait buys throughput.
const LINGER_BELOW: usize = 128;
const LINGER: std::time::Duration = std::time::Duration::from_millis(2);

type Job = (CheckRecord, oneshot::Sender<StoreResult<()>>);

/// A cloneable handle to the writer task.
#[derive(Clone)]
pub struct CheckWriter {
    queue: mpsc::Sender<Job>,
    failed: Counter,
}

impl CheckWriter {
    /// Starts the writer task on the current tokio runtime.
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (queue, jobs) = mpsc::channel(MAX_BATCH * 8);
        let failed = Counter::default();
        tokio::spawn(write_batches(store, jobs, failed.clone()));
        Self { queue, failed }
    }

    /// Registers `check_writes_failed`: outcomes (check results, heartbeat
    /// pings) that could not be stored. Each is also logged; none is
    /// dropped silently.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "check_writes_failed",
            "Check results and heartbeat pings that could not be stored",
            self.failed.clone(),
        );
    }

    /// Queues `record` and waits until it is committed.
    pub async fn write(&self, record: CheckRecord) -> StoreResult<()> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send((record, done))
            .await
            .map_err(|_| stopped())?;
        committed.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the check writer has stopped".into())
}

async fn write_batches(store: Arc<dyn Store>, mut jobs: mpsc::Receiver<Job>, failed: Counter) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        if batch.len() < LINGER_BELOW {
            let deadline = tokio::time::Instant::now() + LINGER;
            while batch.len() < LINGER_BELOW {
                match tokio::time::timeout_at(deadline, jobs.recv_many(&mut batch, MAX_BATCH)).await
                {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
        let (records, waiters): (Vec<CheckRecord>, Vec<_>) = batch.drain(..).unzip();
        match store.record_checks(&records).await {
            Ok(()) => {
                for waiter in waiters {
                    let _ = waiter.send(Ok(()));
                }
            }
            Err(StoreError::Unavailable(why)) => {
                // The database is away: every caller hears so at once (a
                // ping answers 503 and its client retries); retrying one
                // by one would only make each wait out another timeout.
                tracing::warn!(error = %why, size = records.len(), "database unavailable; outcomes not stored");
                failed.inc_by(records.len() as u64);
                for waiter in waiters {
                    let _ = waiter.send(Err(StoreError::Unavailable(why.clone())));
                }
            }
            Err(e) => {
                // Retry one by one, so a single bad record fails alone.
                tracing::warn!(error = %e, size = records.len(), "batch write failed; retrying singly");
                for (record, waiter) in records.into_iter().zip(waiters) {
                    let outcome = store.record_checks(std::slice::from_ref(&record)).await;
                    if let Err(e) = &outcome {
                        tracing::warn!(error = %e, monitor = %record.monitor_id, "outcome not stored");
                        failed.inc();
                    }
                    let _ = waiter.send(outcome);
                }
            }
        }
    }
}
