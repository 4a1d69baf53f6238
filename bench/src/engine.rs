//! `certsentry-bench engine`: many HTTPS monitors through the real scheduler,
//! checker, probes and SQLite store against a loopback TLS server, compared
//! with a bare tokio-rustls handshake + GET loop measured in the same run.
//! Both sides (prober and server) live in this process in both measurements,
//! so CPU per check is comparable to CPU per bare iteration.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use certsentry_domain::OrgId;
use certsentry_domain::monitor::{Monitor, MonitorSpec};
use certsentry_engine::Checker;
use certsentry_engine::scheduler::{LAG_BUCKETS_MS, Scheduler, SchedulerConfig, StoreSource};
use certsentry_probes::testing::{Pki, https_server};
use certsentry_probes::{ProbeConfig, Prober};
use certsentry_store::{Store, SyncChanges};

use crate::procfs::{cpu_seconds, threads_cpu_seconds};
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;

#[derive(Debug, clap::Args)]
pub struct EngineArgs {
    /// HTTPS monitors, each checked every `--interval` seconds.
    #[arg(long, default_value_t = 10_000)]
    monitors: usize,
    /// How long the engine runs (the first interval spreads the first checks).
    #[arg(long, default_value_t = 120)]
    seconds: u64,
    /// Each monitor's check interval, in seconds.
    #[arg(long, default_value_t = 60)]
    interval: u32,
    /// Give every monitor an SSL check too (it reads the uptime check's
    /// handshake, so a run still makes one connection).
    #[arg(long)]
    ssl: bool,
    /// How long the bare handshake loop runs.
    #[arg(long, default_value_t = 10)]
    baseline_seconds: u64,
    /// Concurrent connections in the bare loop.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[command(flatten)]
    database: crate::Database,
}

/// The name of the loopback targets' threads, so that their CPU can be
/// told apart from the prober's: a node checking real sites never pays it.
const TARGET_THREADS: &str = "bench-target";

/// CPU seconds so far: the whole process, and the loopback targets' share.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    all: f64,
    targets: f64,
}

impl Cpu {
    fn now() -> Self {
        Self {
            all: cpu_seconds(),
            targets: threads_cpu_seconds(TARGET_THREADS),
        }
    }

    /// What was spent since `earlier`: (all, the prober's side alone).
    fn since(self, earlier: Cpu) -> (f64, f64) {
        let all = self.all - earlier.all;
        (all, all - (self.targets - earlier.targets))
    }
}

/// CPU seconds per iteration, of (all, the prober's side alone).
fn per((all, prober): (f64, f64), iterations: u64) -> (f64, f64) {
    let n = iterations.max(1) as f64;
    (all / n, prober / n)
}

/// Peak resident set size, MiB.
fn peak_rss_mib() -> f64 {
    crate::procfs::status_kib("VmHWM").map_or(f64::NAN, |kib| kib as f64 / 1024.0)
}

/// One bare iteration: connect, a full handshake, `GET /`, the body read.
async fn bare_iteration(port: u16, tls: Arc<rustls::ClientConfig>) {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let tls_stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, stream)
        .await
        .expect("handshake");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls_stream))
        .await
        .expect("http");
    tokio::spawn(connection);
    let request = Request::get("/")
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    response.into_body().collect().await.expect("body");
}

/// Bare iterations back to back on `concurrency` tasks: the machine
/// saturated, so waking threads is shared by many iterations.
async fn bare_loop(
    port: u16,
    tls: Arc<rustls::ClientConfig>,
    concurrency: usize,
    duration: Duration,
) -> u64 {
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let tls = tls.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                bare_iteration(port, tls.clone()).await;
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("task");
    }
    total
}

/// Bare iterations started at the engine's own rate, each on its own task,
/// as the scheduler starts checks. Why a second baseline: at 167 checks/s
/// most of a check's steps find their threads asleep, and waking them (in
/// the client and in the loopback server alike) costs more CPU than the
/// handshake; the saturated loop hardly ever pays that. This loop pays it
/// as the engine does, so its ratio is what our own code adds.
async fn paced_loop(
    port: u16,
    tls: Arc<rustls::ClientConfig>,
    per_second: f64,
    duration: Duration,
) -> u64 {
    let deadline = Instant::now() + duration;
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second.max(1.0)));
    let mut tasks = tokio::task::JoinSet::new();
    while Instant::now() < deadline {
        ticks.tick().await;
        tasks.spawn(bare_iteration(port, tls.clone()));
    }
    let started = tasks.len() as u64;
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }
    started
}

fn monitor(org: &OrgId, port: u16, interval: u32, ssl: bool, i: usize) -> Monitor {
    let spec = MonitorSpec {
        uptime_interval_seconds: Some(interval),
        target: Some(format!("https://localhost:{port}/")),
        check_ssl: ssl,
        check_domain: false,
        external_id: None,
        ..crate::spec(i)
    };
    Monitor::new(org.clone(), spec)
}

pub fn run(args: EngineArgs) -> anyhow::Result<()> {
    // The loopback targets run on threads of their own name, so that the
    // prober's side can be measured without them.
    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(TARGET_THREADS)
        .enable_all()
        .build()?;
    let node = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let pki = Pki::new();
    let (leaf, key) = pki.leaf(&["localhost"], None);
    let chain = vec![leaf, pki.intermediate.der().clone()];
    let port = servers.block_on(https_server(chain, key));
    let probe = ProbeConfig {
        timeout: Duration::from_secs(10),
        allow_private_targets: true,
        extra_roots: vec![pki.root_der()],
        ..ProbeConfig::default()
    };

    // Baseline: bare handshake + GET, client and server in this process.
    let tls = crate::client_trusting(pki.root_der())?;
    let cpu_before = Cpu::now();
    let started = Instant::now();
    let iterations = node.block_on(bare_loop(
        port,
        tls,
        args.concurrency,
        Duration::from_secs(args.baseline_seconds),
    ));
    let (baseline_cpu, baseline_client_cpu) = per(Cpu::now().since(cpu_before), iterations);
    let baseline_rate = iterations as f64 / started.elapsed().as_secs_f64();
    let checks_per_second = args.monitors as f64 / f64::from(args.interval);
    let cpu_before = Cpu::now();
    let paced_iterations = node.block_on(paced_loop(
        port,
        crate::client_trusting(pki.root_der())?,
        checks_per_second,
        Duration::from_secs(args.baseline_seconds),
    ));
    let (paced_cpu, paced_client_cpu) = per(Cpu::now().since(cpu_before), paced_iterations);

    // The engine: monitors in SQLite behind the cache, scheduled and checked.
    let rss_before = peak_rss_mib();
    let (scheduler_stats, completed) = node.block_on(async {
        let store: Arc<dyn Store> = args.database.store().await?;
        let (_, _) = crate::seed(&*store, 0).await?;
        let org = store.list_orgs().await?.remove(0).id;
        let monitors: Vec<Monitor> = (0..args.monitors)
            .map(|i| monitor(&org, port, args.interval, args.ssl, i))
            .collect();
        store
            .apply_sync(
                &org,
                &SyncChanges {
                    create: monitors,
                    ..Default::default()
                },
                u32::MAX,
                &[],
            )
            .await?;
        let checker = Arc::new(Checker::new(store.clone(), Prober::new(probe)));
        let scheduler = Scheduler::new(
            StoreSource(store.clone()),
            checker,
            SchedulerConfig::default(),
        );
        let stats = scheduler.stats.clone();
        let cpu_start = Cpu::now();
        let task = tokio::spawn(scheduler.run());
        // The first interval is every monitor's first check; what follows
        // is the steady state a node carries.
        let first = Duration::from_secs(args.seconds.min(args.interval.into()));
        tokio::time::sleep(first).await;
        let first_checks = stats.runs_completed.load(Ordering::Relaxed);
        let cpu_first = Cpu::now();
        tokio::time::sleep(Duration::from_secs(args.seconds) - first).await;
        task.abort();
        let cpu = Cpu::now();
        let completed = stats.runs_completed.load(Ordering::Relaxed);
        anyhow::Ok((stats, (completed, cpu_start, cpu, first_checks, cpu_first)))
    })?;
    let (checks, cpu_start, cpu, first_checks, cpu_first) = completed;
    let (cpu_per_check, _) = per(cpu.since(cpu_start), checks);
    let (cpu_per_first_check, _) = per(cpu_first.since(cpu_start), first_checks);
    let steady_checks = checks.saturating_sub(first_checks);
    let (cpu_per_steady_check, prober_cpu_per_steady_check) =
        per(cpu.since(cpu_first), steady_checks);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as f64;

    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| bare tokio-rustls handshake + GET (baseline) | {baseline_rate:.0}/s, {:.0} µs CPU each |",
        baseline_cpu * 1e6
    );
    println!(
        "| the same, {checks_per_second:.0} started per second (paced baseline) | {paced_iterations} in {} s, {:.0} µs CPU each |",
        args.baseline_seconds,
        paced_cpu * 1e6
    );
    println!(
        "| monitors / interval | {} HTTPS / {} s ({checks_per_second:.0} checks/s) |",
        args.monitors, args.interval,
    );
    println!("| checks completed in {} s | {checks} |", args.seconds);
    println!(
        "| CPU per check, all {checks} | {:.0} µs = {:.2}x the bare iteration |",
        cpu_per_check * 1e6,
        cpu_per_check / baseline_cpu
    );
    println!(
        "| CPU per check, the first interval ({first_checks} first checks) | {:.0} µs = {:.2}x |",
        cpu_per_first_check * 1e6,
        cpu_per_first_check / baseline_cpu
    );
    println!(
        "| CPU per check, steady state ({steady_checks} after the first interval) | {:.0} µs = **{:.2}x**, **{:.2}x** the paced baseline |",
        cpu_per_steady_check * 1e6,
        cpu_per_steady_check / baseline_cpu,
        cpu_per_steady_check / paced_cpu
    );
    println!(
        "| the prober's side alone (the loopback targets' threads left out) | {:.0} µs per check = **{:.2}x** the bare client's {:.0} µs, {:.2}x at the same rate ({:.0} µs) |",
        prober_cpu_per_steady_check * 1e6,
        prober_cpu_per_steady_check / baseline_client_cpu,
        baseline_client_cpu * 1e6,
        prober_cpu_per_steady_check / paced_client_cpu,
        paced_client_cpu * 1e6
    );
    println!(
        "| start lag p99 (bucket bound) | {} |",
        match scheduler_stats.lag_quantile_ms(0.99) {
            // Past the last bound the scheduler reports the largest lag seen.
            Some(lag) if lag > LAG_BUCKETS_MS[LAG_BUCKETS_MS.len() - 2] => format!(
                "beyond the last bound ({} ms): at most {lag} ms",
                LAG_BUCKETS_MS[LAG_BUCKETS_MS.len() - 2]
            ),
            lag => format!("{} ms", lag.unwrap_or(0)),
        }
    );
    println!(
        "| start lag max | {} ms |",
        scheduler_stats.max_start_lag_ms.load(Ordering::Relaxed)
    );
    println!(
        "| peak RSS | {:.0} MiB (before the engine: {rss_before:.0} MiB) |",
        peak_rss_mib()
    );
    println!(
        "| monitors a node can carry at {} s ({cores} cores, CPU-bound estimate, the prober's side alone) | {:.0} |",
        args.interval,
        cores * f64::from(args.interval) / prober_cpu_per_steady_check
    );
    let store = args.database.name();
    // What a node carries is the steady state; the first checks (each
    // monitor's first alert state) are printed above.
    // `measured` follows "steady state"; each row's figure and baseline
    // are CPU seconds per check and per bare iteration.
    let cpu_per_check_row =
        |measured: &str, cpu: f64, baseline_cpu: f64, iterations: u64| crate::figures::Figure {
            path: format!(
                "CPU per HTTPS check{} at {checks_per_second:.0} checks/s, steady state{measured}",
                if args.ssl { " with its SSL check" } else { "" }
            ),
            store: store.into(),
            value: cpu * 1e6,
            unit: "µs".into(),
            baseline: Some(baseline_cpu * 1e6),
            goal: crate::figures::Goal::RatioAtMost(1.5),
            goal_text: "<= 1.5x the bare iteration".into(),
            complete: steady_checks > 0 && iterations > 0,
        };
    let mut figures = vec![
        cpu_per_check_row(
            " (x the bare handshake + GET)",
            cpu_per_steady_check,
            baseline_cpu,
            iterations,
        ),
        cpu_per_check_row(
            " (x the bare handshake + GET at the same rate)",
            cpu_per_steady_check,
            paced_cpu,
            paced_iterations,
        ),
        cpu_per_check_row(
            ", the prober's side alone (x the bare client's side)",
            prober_cpu_per_steady_check,
            baseline_client_cpu,
            iterations,
        ),
    ];
    // The memory goal is stated for plain HTTPS monitors checked every
    // minute. A run with SSL checks (`all` runs it with fewer monitors) or
    // at a shorter interval (the run at load, whose RSS follows the checks
    // in flight rather than the monitors) prints its RSS above.
    if !args.ssl && args.interval >= 60 {
        figures.push(crate::figures::Figure {
            path: format!("peak RSS, {} HTTPS monitors checked", args.monitors),
            store: store.into(),
            value: peak_rss_mib(),
            unit: "MiB".into(),
            baseline: None,
            goal: crate::figures::Goal::AtMost(60.0),
            goal_text: "< 60 MiB at 10,000 monitors".into(),
            complete: checks > 0,
        });
    }
    crate::figures::report(&figures)?;
    Ok(())
}
