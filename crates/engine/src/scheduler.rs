//! Runs every enabled monitor on its interval, with starts spread across the
//! interval (a stable per-monitor phase), never all at :00.
//!
//! Generic over where monitors come from ([`MonitorSource`]) and how one is
//! run ([`MonitorRunner`]), so it can be tested with a paused clock. A single
//! node reads every monitor ([`StoreSource`]); nodes sharing a database each
//! run the monitors they claim ([`ClaimedSource`]); a probe agent runs the
//! region jobs it holds (`certsentry-agent`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use certsentry_domain::MonitorId;
use certsentry_domain::agent::SERVER_JOBS;
use certsentry_domain::monitor::{Monitor, MonitorKind};
use certsentry_domain::time::now_ms;
use certsentry_store::{JobClaim, ServerNode, Store, StoreResult};
use tokio::sync::Semaphore;
use tokio::time::Instant;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the scheduler reads the monitors to run.
pub trait MonitorSource: Send + Sync + 'static {
    fn load(&self) -> BoxFuture<'_, Vec<Monitor>>;
}

/// Runs one monitor's checks.
pub trait MonitorRunner: Send + Sync + 'static {
    fn run(self: Arc<Self>, monitor: Arc<Monitor>) -> BoxFuture<'static, ()>;
}

/// Every monitor of every organization, from the store.
pub struct StoreSource(pub Arc<dyn Store>);

impl MonitorSource for StoreSource {
    fn load(&self) -> BoxFuture<'_, Vec<Monitor>> {
        Box::pin(async move {
            certsentry_store::enabled_monitors(&*self.0)
                .await
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "scheduler could not list monitors");
                    Vec::new()
                })
        })
    }
}

/// The monitors this server node holds, when several nodes share one
/// database (Postgres): each node claims its part of the schedule (the
/// monitors' [`SERVER_JOBS`] rows) with leases, as agents claim regions,
/// so a check run is one node's. A node that stops renewing loses its
/// monitors to the others within a lease
/// ([`SERVER_LEASE_MS`](certsentry_domain::agent::SERVER_LEASE_MS)).
pub struct ClaimedSource {
    pub store: Arc<dyn Store>,
    pub node: ServerNode,
    /// The last claim's monitors, kept when the database does not answer:
    /// a blip must not unschedule everything.
    last: std::sync::Mutex<Vec<Monitor>>,
}

/// Nodes seen within this long share the schedule.
const NODE_ALIVE_MS: i64 = 60_000;

impl ClaimedSource {
    pub fn new(store: Arc<dyn Store>, node_id: &str) -> Self {
        Self {
            store,
            node: ServerNode {
                id: node_id.to_string(),
                started_at: now_ms(),
                last_seen_at: now_ms(),
            },
            last: std::sync::Mutex::new(Vec::new()),
        }
    }

    async fn claim(&self) -> StoreResult<Vec<Monitor>> {
        let now = now_ms();
        let node = ServerNode {
            last_seen_at: now,
            ..self.node.clone()
        };
        self.store.touch_server_node(&node).await?;
        let alive = self
            .store
            .list_server_nodes()
            .await?
            .iter()
            .filter(|n| now - n.last_seen_at <= NODE_ALIVE_MS)
            .count();
        let claim = JobClaim {
            region: SERVER_JOBS,
            holder: &node.id,
            now,
            capacity: 10_000_000,
            sharers: alive.max(1) as u32,
        };
        Ok(self.store.claim_jobs(&claim).await?.jobs)
    }
}

impl MonitorSource for ClaimedSource {
    fn load(&self) -> BoxFuture<'_, Vec<Monitor>> {
        Box::pin(async move {
            let mut last = match self.claim().await {
                Ok(monitors) => monitors,
                Err(e) => {
                    tracing::error!(error = %e, "scheduler could not claim its monitors; keeping the last claim");
                    return self.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
                }
            };
            last.retain(|m| m.spec.enabled);
            *self.last.lock().unwrap_or_else(|p| p.into_inner()) = last.clone();
            last
        })
    }
}

impl MonitorRunner for crate::Checker {
    fn run(self: Arc<Self>, monitor: Arc<Monitor>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            if let Err(e) = self.run_scheduled(&monitor).await {
                tracing::warn!(monitor = %monitor.id, error = %e, "check run failed");
            }
        })
    }
}

/// Upper bounds (ms) of the start-lag histogram buckets; the last is "more".
pub const LAG_BUCKETS_MS: [u64; 14] = [
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    OVERFLOW_BOUND,
];

/// The last bucket's "bound": lags beyond 10 s, which has no real bound.
const OVERFLOW_BOUND: u64 = u64::MAX;

/// Counters for `/metrics` and the benchmark.
#[derive(Debug, Default)]
pub struct SchedulerStats {
    pub runs_started: AtomicU64,
    pub runs_completed: AtomicU64,
    /// Largest delay between a run's slot and its start, in milliseconds.
    pub max_start_lag_ms: AtomicU64,
    pub scheduled_monitors: AtomicU64,
    /// Start lag (slot to the run actually starting) by [`LAG_BUCKETS_MS`].
    pub lag_buckets: [AtomicU64; LAG_BUCKETS_MS.len()],
}

impl SchedulerStats {
    fn record_lag(&self, lag_ms: u64) {
        self.max_start_lag_ms.fetch_max(lag_ms, Ordering::Relaxed);
        let bucket = LAG_BUCKETS_MS
            .iter()
            .position(|bound| lag_ms <= *bound)
            .unwrap_or(LAG_BUCKETS_MS.len() - 1);
        self.lag_buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// The bucket bound under which `quantile` of the start lags fall.
    ///
    /// The overflow bucket has no bound of its own, so a quantile that lands
    /// there is reported as the largest lag seen: still an upper bound, and
    /// a number a health check can compare, where the bucket's `u64::MAX`
    /// would read as 18446744073709551615 ms.
    pub fn lag_quantile_ms(&self, quantile: f64) -> Option<u64> {
        let counts: Vec<u64> = self
            .lag_buckets
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let wanted = (total as f64 * quantile).ceil() as u64;
        let mut seen = 0;
        let bound = counts
            .iter()
            .zip(LAG_BUCKETS_MS)
            .find_map(|(count, bound)| {
                seen += count;
                (seen >= wanted).then_some(bound)
            });
        match bound {
            Some(bound) if bound != OVERFLOW_BOUND => Some(bound),
            _ => Some(self.max_start_lag_ms.load(Ordering::Relaxed)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// How often the monitor list is re-read (new, changed, disabled, deleted).
    pub refresh_every: Duration,
    /// Runs in flight at once.
    pub max_concurrent: usize,
    /// Runs every monitor at this interval instead of its own: time
    /// compressed for end-to-end tests and demos (`certsentry agent
    /// --check-interval-ms`), never set by `serve`.
    pub interval_override: Option<Duration>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            refresh_every: Duration::from_secs(10),
            max_concurrent: 512,
            interval_override: None,
        }
    }
}

struct Entry {
    monitor: Arc<Monitor>,
    interval: Duration,
    next: Instant,
    /// Bumped whenever `next` is set anew; heap items of older generations are stale.
    generation: u64,
}

/// Due times, soonest first: popping what is due is O(log n) per run,
/// never a scan of every monitor.
type DueHeap = BinaryHeap<Reverse<(Instant, u64, MonitorId)>>;

/// The interval a monitor is scheduled at; heartbeat monitors are passive.
fn interval_of(monitor: &Monitor) -> Option<Duration> {
    if !monitor.spec.enabled || monitor.spec.kind == MonitorKind::Heartbeat {
        return None;
    }
    monitor
        .spec
        .uptime_interval_seconds
        .map(|s| Duration::from_secs(u64::from(s)))
}

/// A stable offset within the interval, so restarts keep each monitor's slot.
fn phase(id: &MonitorId, interval: Duration) -> Duration {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    let millis = interval.as_millis().max(1) as u64;
    Duration::from_millis(hasher.finish() % millis)
}

/// Where a monitor's slots fall: the instants whose Unix time, modulo its
/// interval, is its [`phase`].
///
/// Why the wall clock and not this process's start: every process that runs
/// a monitor then gives it the same slots. A node restarted, or a probe
/// agent taking over a job another agent held, checks it one interval after
/// the last check, never moments after it (each process counting from its
/// own start put two agents' slots for one monitor anywhere apart).
struct Slots {
    started: Instant,
    unix_ms_at_start: i64,
}

impl Slots {
    fn anchored_now() -> Self {
        Self {
            started: Instant::now(),
            unix_ms_at_start: now_ms(),
        }
    }

    /// The monitor's first slot at or after `now`.
    fn first(&self, phase: Duration, interval: Duration, now: Instant) -> Instant {
        let interval_ms = interval.as_millis().max(1) as i64;
        let unix_now = self.unix_ms_at_start + (now - self.started).as_millis() as i64;
        let wait = (phase.as_millis() as i64 - unix_now).rem_euclid(interval_ms);
        now + Duration::from_millis(wait as u64)
    }
}

pub struct Scheduler<S, R> {
    source: S,
    runner: Arc<R>,
    config: SchedulerConfig,
    pub stats: Arc<SchedulerStats>,
}

impl<S: MonitorSource, R: MonitorRunner> Scheduler<S, R> {
    pub fn new(source: S, runner: Arc<R>, config: SchedulerConfig) -> Self {
        Self {
            source,
            runner,
            config,
            stats: Arc::new(SchedulerStats::default()),
        }
    }

    /// Runs until the task is dropped or aborted.
    pub async fn run(self) {
        let permits = Arc::new(Semaphore::new(self.config.max_concurrent));
        let slots = Slots::anchored_now();
        let mut entries: HashMap<MonitorId, Entry> = HashMap::new();
        let mut due = DueHeap::new();
        let mut generation = 0u64;
        let mut refresh_at = Instant::now();
        loop {
            let now = Instant::now();
            if now >= refresh_at {
                self.refresh(&mut entries, &mut due, &mut generation, &slots, now)
                    .await;
                refresh_at = now + self.config.refresh_every;
            }
            while let Some(Reverse((at, entry_generation, _))) = due.peek() {
                if *at > now {
                    break;
                }
                let (at, entry_generation) = (*at, *entry_generation);
                let Some(Reverse((_, _, id))) = due.pop() else {
                    break;
                };
                let Some(entry) = entries.get_mut(&id) else {
                    continue;
                };
                if entry.generation != entry_generation {
                    continue;
                }
                self.start_run(&permits, entry.monitor.clone(), at);
                entry.next += entry.interval;
                if entry.next <= now {
                    // Far behind (a stall): skip missed slots rather than burst.
                    let behind = now.duration_since(entry.next).as_millis()
                        / entry.interval.as_millis().max(1);
                    entry.next += entry.interval * (behind as u32 + 1);
                }
                due.push(Reverse((entry.next, entry.generation, id)));
            }
            let next_due = due.peek().map_or(refresh_at, |Reverse((at, _, _))| *at);
            tokio::time::sleep_until(next_due.min(refresh_at)).await;
        }
    }

    fn start_run(&self, permits: &Arc<Semaphore>, monitor: Arc<Monitor>, slot: Instant) {
        let runner = self.runner.clone();
        let permits = permits.clone();
        let stats = self.stats.clone();
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            // Lag counts waiting for a permit too: that is when the check starts.
            stats.record_lag(Instant::now().duration_since(slot).as_millis() as u64);
            stats.runs_started.fetch_add(1, Ordering::Relaxed);
            runner.run(monitor).await;
            stats.runs_completed.fetch_add(1, Ordering::Relaxed);
        });
    }

    async fn refresh(
        &self,
        entries: &mut HashMap<MonitorId, Entry>,
        due: &mut DueHeap,
        generation: &mut u64,
        slots: &Slots,
        now: Instant,
    ) {
        let monitors = self.source.load().await;
        let mut seen = HashMap::with_capacity(monitors.len());
        for monitor in monitors {
            let Some(interval) =
                interval_of(&monitor).map(|own| self.config.interval_override.unwrap_or(own))
            else {
                continue;
            };
            seen.insert(monitor.id.clone(), ());
            let monitor = Arc::new(monitor);
            match entries.get_mut(&monitor.id) {
                Some(entry) if entry.interval == interval => entry.monitor = monitor,
                _ => {
                    let next = slots.first(phase(&monitor.id, interval), interval, now);
                    *generation += 1;
                    due.push(Reverse((next, *generation, monitor.id.clone())));
                    let entry = Entry {
                        monitor,
                        interval,
                        next,
                        generation: *generation,
                    };
                    entries.insert(entry.monitor.id.clone(), entry);
                }
            }
        }
        // Removed monitors' heap items become stale and are skipped when popped.
        entries.retain(|id, _| seen.contains_key(id));
        if due.len() > 2 * entries.len() + 1024 {
            due.retain(|Reverse((_, g, id))| entries.get(id).is_some_and(|e| e.generation == *g));
        }
        self.stats
            .scheduled_monitors
            .store(entries.len() as u64, Ordering::Relaxed);
        tracing::debug!(
            monitors = entries.len(),
            at = now_ms(),
            "scheduler refreshed"
        );
    }
}

#[cfg(test)]
mod tests;
