use std::sync::Mutex;

use certsentry_domain::OrgId;
use certsentry_domain::monitor::{MonitorSpec, MonitorStatus};

use super::*;

/// Monitors the test can change while the scheduler runs.
#[derive(Clone, Default)]
struct Fixed(Arc<Mutex<Vec<Monitor>>>);

impl MonitorSource for Fixed {
    fn load(&self) -> BoxFuture<'_, Vec<Monitor>> {
        let monitors = self.0.lock().unwrap().clone();
        Box::pin(async move { monitors })
    }
}

/// Records when each monitor ran (paused-clock offsets since the start).
struct Recorder {
    started: Instant,
    runs: Mutex<Vec<(MonitorId, Duration)>>,
}

impl MonitorRunner for Recorder {
    fn run(self: Arc<Self>, monitor: Arc<Monitor>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let at = self.started.elapsed();
            self.runs.lock().unwrap().push((monitor.id.clone(), at));
        })
    }
}

fn monitor(interval: u32, kind: MonitorKind, enabled: bool) -> Monitor {
    Monitor {
        id: MonitorId::generate(),
        org_id: OrgId::from_string("org"),
        spec: MonitorSpec {
            kind,
            enabled,
            check_ssl: false,
            check_domain: false,
            uptime_interval_seconds: (kind != MonitorKind::Heartbeat).then_some(interval),
            alert_lead_days: vec![],
            ..MonitorSpec::standard("m", "example.com", vec!["virginia".into()])
        },
        heartbeat_token: None,
        last_status: MonitorStatus::Unknown,
        ssl_not_after: None,
        domain_expiry: None,
        created_at: 0,
        updated_at: 0,
    }
}

fn start(source: Fixed) -> (Arc<Recorder>, tokio::task::JoinHandle<()>) {
    let recorder = Arc::new(Recorder {
        started: Instant::now(),
        runs: Mutex::new(Vec::new()),
    });
    let config = SchedulerConfig {
        refresh_every: Duration::from_secs(10),
        max_concurrent: 64,
        interval_override: None,
    };
    let scheduler = Scheduler::new(source, recorder.clone(), config);
    (recorder, tokio::spawn(scheduler.run()))
}

#[tokio::test(start_paused = true)]
async fn runs_every_interval_with_starts_spread_across_it() {
    let monitors: Vec<Monitor> = (0..120)
        .map(|_| monitor(60, MonitorKind::Standard, true))
        .collect();
    let source = Fixed(Arc::new(Mutex::new(monitors.clone())));
    let (recorder, task) = start(source);
    tokio::time::sleep(Duration::from_secs(60)).await;
    {
        let runs = recorder.runs.lock().unwrap();
        assert_eq!(runs.len(), 120, "each monitor once in its first interval");
        let distinct_seconds: std::collections::HashSet<u64> =
            runs.iter().map(|(_, at)| at.as_secs()).collect();
        assert!(
            distinct_seconds.len() >= 40,
            "starts spread over the minute, got {} distinct seconds",
            distinct_seconds.len()
        );
    }
    tokio::time::sleep(Duration::from_secs(120)).await;
    let runs = recorder.runs.lock().unwrap();
    for m in &monitors {
        let times: Vec<Duration> = runs
            .iter()
            .filter(|(id, _)| *id == m.id)
            .map(|(_, at)| *at)
            .collect();
        assert_eq!(times.len(), 3, "three intervals, three runs");
        assert_eq!(times[1] - times[0], Duration::from_secs(60));
        assert_eq!(times[2] - times[1], Duration::from_secs(60));
    }
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn disabled_heartbeat_and_deleted_monitors_do_not_run() {
    let kept = monitor(60, MonitorKind::Tcp, true);
    let deleted = monitor(60, MonitorKind::Standard, true);
    let disabled = monitor(60, MonitorKind::Standard, false);
    let heartbeat = monitor(60, MonitorKind::Heartbeat, true);
    let source = Fixed(Arc::new(Mutex::new(vec![
        kept.clone(),
        deleted.clone(),
        disabled.clone(),
        heartbeat.clone(),
    ])));
    let (recorder, task) = start(source.clone());
    tokio::time::sleep(Duration::from_secs(61)).await;
    source.0.lock().unwrap().retain(|m| m.id != deleted.id);
    tokio::time::sleep(Duration::from_secs(300)).await;
    let runs = recorder.runs.lock().unwrap();
    let count = |id: &MonitorId| runs.iter().filter(|(r, _)| r == id).count();
    assert!(
        (5..=7).contains(&count(&kept.id)),
        "kept ran {}",
        count(&kept.id)
    );
    assert!(
        count(&deleted.id) <= 2,
        "deleted stops after the next refresh, ran {}",
        count(&deleted.id)
    );
    assert_eq!(count(&disabled.id), 0);
    assert_eq!(count(&heartbeat.id), 0);
    task.abort();
}

#[test]
fn lag_quantiles_come_from_the_buckets() {
    let stats = SchedulerStats::default();
    assert_eq!(stats.lag_quantile_ms(0.99), None);
    for _ in 0..98 {
        stats.record_lag(0);
    }
    stats.record_lag(40);
    stats.record_lag(3_000);
    assert_eq!(stats.lag_quantile_ms(0.98), Some(1));
    assert_eq!(stats.lag_quantile_ms(0.99), Some(50));
    assert_eq!(stats.lag_quantile_ms(1.0), Some(5_000));
    assert_eq!(stats.max_start_lag_ms.load(Ordering::Relaxed), 3_000);
}

#[test]
fn a_quantile_in_the_overflow_bucket_is_the_largest_lag_seen() {
    let stats = SchedulerStats::default();
    for _ in 0..97 {
        stats.record_lag(0);
    }
    stats.record_lag(12_000);
    stats.record_lag(25_000);
    stats.record_lag(31_000);
    assert_eq!(stats.lag_quantile_ms(0.97), Some(1));
    assert_eq!(stats.lag_quantile_ms(0.99), Some(31_000));
    assert_eq!(stats.lag_quantile_ms(1.0), Some(31_000));
}

#[test]
fn phases_are_stable_and_inside_the_interval() {
    let id = MonitorId::generate();
    let interval = Duration::from_secs(300);
    assert_eq!(phase(&id, interval), phase(&id, interval));
    assert!(phase(&id, interval) < interval);
}

#[test]
fn every_process_gives_a_monitor_the_same_wall_clock_slots() {
    let interval = Duration::from_secs(60);
    let phase = Duration::from_millis(5_250);
    let now = Instant::now();
    // Two processes started at unrelated times, asked at the same moment.
    for unix_ms in [1_700_000_000_000_i64, 1_700_000_012_345, 1_700_000_059_999] {
        let slots = Slots {
            started: now,
            unix_ms_at_start: unix_ms,
        };
        let wait = slots.first(phase, interval, now) - now;
        assert!(wait < interval, "{wait:?}");
        let slot_unix_ms = unix_ms + wait.as_millis() as i64;
        assert_eq!(slot_unix_ms % 60_000, 5_250, "from {unix_ms}");
    }
    // Later on the same process's clock, the same slots.
    let slots = Slots {
        started: now,
        unix_ms_at_start: 1_700_000_000_000,
    };
    let later = now + Duration::from_millis(70_000);
    let wait = slots.first(phase, interval, later) - later;
    assert_eq!(
        (1_700_000_070_000 + wait.as_millis() as i64) % 60_000,
        5_250
    );
}
