//! The batching writer: check outcomes and heartbeat pings queue here and
//! are written many to a transaction.
//!
//! Why: with one writer connection (SQLite) or a commit per request
//! (Postgres), a transaction per ping or per check caps ingestion at the
//! commit rate. Queuing while a transaction is in flight turns a burst into
//! one commit. Each caller still waits for its own commit, so a `200` on a
//! ping or a stored result means the data is durable.

use std::sync::Arc;
use std::time::Duration;

use certsentry_store::{CheckRecord, Store, StoreError, StoreResult};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};

/// At most this many outcomes go into one transaction.
pub const MAX_BATCH: usize = 1024;
/// A batch smaller than this waits for company: a commit costs about the
/// same for 5 rows as for 100 (WAL pages, statement setup, and two thread
/// hand-offs per statement to SQLite's worker thread).
const LINGER_BELOW: usize = 128;
/// How long a batch waits once it holds a write someone is waiting on (an
/// agent upload's HTTP client, a person's "check now"): only long enough
/// for a burst to gather.
const ATTENDED_LINGER: Duration = Duration::from_millis(2);
/// A heartbeat ping's batch does not wait at all: it takes what is queued,
/// and a burst gathers behind the commit in flight. Once the ping journal
/// made a commit cheap, the 2 ms wait was most of a ping's latency, and
/// dropping it took pings from 0.16 to 0.22-0.27 of the bare axum handler
/// (`certsentry-bench pings`). Agent uploads and check-now keep their 2 ms
/// (not measured without). Dropping it once made the agents' lease
/// take-over test see one monitor checked twice within 150 ms, most likely
/// because each agent then placed a monitor's slots from its own start, so
/// two agents' slots for one monitor could fall any distance apart, and the
/// wait shifted when the test started the second agent. Slots now follow
/// the wall clock (`scheduler::Slots`), the same in every process.
const PING_LINGER: Duration = Duration::ZERO;
/// How long a batch of unattended writes alone waits. Nobody waits on a
/// scheduled check's commit, and checks arrive spread out (10,000 monitors
/// at 60 s are 167 a second), so without this wait nearly every check is a
/// transaction of its own; with it a batch holds eight or so, and SQLite's
/// thread went from 15% to 7.5% of a steady-state check's CPU samples
/// (`certsentry-bench engine` under `perf`).
const UNATTENDED_LINGER: Duration = Duration::from_millis(50);

/// A record, how long its batch may wait for company, and its waiter.
type Job = (CheckRecord, Duration, oneshot::Sender<StoreResult<()>>);

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

    /// Queues `record` and waits until it is committed, for a caller that
    /// someone is waiting on: its batch is committed within a few ms.
    pub async fn write(&self, record: CheckRecord) -> StoreResult<()> {
        self.write_within(record, ATTENDED_LINGER).await
    }

    /// As [`CheckWriter::write`], for a heartbeat ping: committed without
    /// waiting for company (see [`PING_LINGER`]).
    pub async fn write_ping(&self, record: CheckRecord) -> StoreResult<()> {
        self.write_within(record, PING_LINGER).await
    }

    /// As [`CheckWriter::write`], for an outcome nobody waits on (a
    /// scheduled check): its batch may wait longer to gather more.
    pub async fn write_unattended(&self, record: CheckRecord) -> StoreResult<()> {
        self.write_within(record, UNATTENDED_LINGER).await
    }

    async fn write_within(&self, record: CheckRecord, linger: Duration) -> StoreResult<()> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send((record, linger, done))
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
        gather(&mut jobs, &mut batch).await;
        let (records, waiters): (Vec<CheckRecord>, Vec<_>) = batch
            .drain(..)
            .map(|(record, _, waiter)| (record, waiter))
            .unzip();
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

/// Waits for more jobs while `batch` is small: from its first job, for the
/// shortest wait any job in it allows.
async fn gather(jobs: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>) {
    let first_arrived = tokio::time::Instant::now();
    let mut seen = 0;
    let mut linger = UNATTENDED_LINGER;
    while batch.len() < LINGER_BELOW {
        linger = batch[seen..]
            .iter()
            .map(|(_, allowed, _)| *allowed)
            .fold(linger, Duration::min);
        seen = batch.len();
        match tokio::time::timeout_at(first_arrived + linger, jobs.recv_many(batch, MAX_BATCH))
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    //! [`gather`] on tokio's paused clock: the waits are exact and no test
    //! depends on how fast the machine is.

    use super::*;
    use certsentry_domain::{MonitorId, OrgId};
    use tokio::time::{Instant, sleep};

    /// A write whose batch may wait `linger` for company.
    fn job(linger: Duration) -> Job {
        let record = CheckRecord {
            org_id: OrgId::generate(),
            monitor_id: MonitorId::generate(),
            results: vec![],
            state: None,
            ping: None,
            certificate: None,
        };
        (record, linger, oneshot::channel().0)
    }

    /// Sends `later` after `after`, then gathers behind `first`; returns
    /// the batch's size and how long gathering took.
    async fn gather_behind(first: Job, later: Job, after: Duration) -> (usize, Duration) {
        let (queue, mut jobs) = mpsc::channel(8);
        let sender = tokio::spawn(async move {
            sleep(after).await;
            let _ = queue.send(later).await;
            // Keep the channel open past every linger.
            sleep(Duration::from_secs(1)).await;
        });
        let started = Instant::now();
        let mut batch = vec![first];
        gather(&mut jobs, &mut batch).await;
        sender.abort();
        (batch.len(), started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn unattended_writes_alone_wait_their_linger_for_company() {
        let later = Duration::from_millis(30);
        let (size, took) =
            gather_behind(job(UNATTENDED_LINGER), job(UNATTENDED_LINGER), later).await;
        assert_eq!(size, 2, "a check 30 ms later joins the batch");
        assert_eq!(took, UNATTENDED_LINGER);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_someone_waits_on_cuts_the_wait_short() {
        let later = Duration::from_millis(30);
        // A ping arriving 30 ms into an unattended wait: its client is
        // waiting, and the batch is already past the attended linger.
        let (size, took) = gather_behind(job(UNATTENDED_LINGER), job(ATTENDED_LINGER), later).await;
        assert_eq!(size, 2);
        assert_eq!(took, later);
        // A batch that starts with an attended write waits its linger only.
        let (size, took) = gather_behind(job(ATTENDED_LINGER), job(UNATTENDED_LINGER), later).await;
        assert_eq!(size, 1, "a check 30 ms later misses a ping's batch");
        assert_eq!(took, ATTENDED_LINGER);
    }
}
