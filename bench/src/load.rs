//! A small HTTP/1.1 keep-alive load generator for loopback targets.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Produces the path of each request.
pub type PathFn = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    /// Sorted latencies in microseconds.
    pub latencies_us: Vec<u32>,
}

impl Report {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[index] as f64 / 1000.0
    }
}

async fn connect(addr: SocketAddr) -> anyhow::Result<http1::SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// `auth` is an `Authorization` value (`Bearer csk_…`), or `cookie:` and
/// a `Cookie` value for the dashboard's signed-in pages.
async fn send(
    sender: &mut http1::SendRequest<Empty<Bytes>>,
    addr: SocketAddr,
    path: &str,
    auth: &str,
) -> anyhow::Result<bool> {
    sender.ready().await?;
    let (name, value) = match auth.strip_prefix("cookie:") {
        Some(cookie) => ("cookie", cookie),
        None => ("authorization", auth),
    };
    let request = Request::get(path)
        .header("host", addr.to_string())
        .header(name, value)
        .body(Empty::new())?;
    let response = sender.send_request(request).await?;
    let ok = response.status().is_success();
    response.into_body().collect().await?;
    Ok(ok)
}

/// One connection's answers: successes, failures, and each latency.
#[derive(Default)]
struct Tally {
    ok: u64,
    errors: u64,
    latencies_us: Vec<u32>,
}

impl Tally {
    /// Counts one answer, its latency running from `since`.
    fn add(&mut self, ok: bool, since: Instant) {
        if ok {
            self.ok += 1;
        } else {
            self.errors += 1;
        }
        self.latencies_us.push(since.elapsed().as_micros() as u32);
    }
}

type ConnectionTask = tokio::task::JoinHandle<anyhow::Result<Tally>>;

/// Sums the per-connection counts into one report.
async fn merge(tasks: Vec<ConnectionTask>, started: Instant) -> anyhow::Result<Report> {
    let mut report = Report::default();
    for task in tasks {
        let tally = task.await??;
        report.requests += tally.ok;
        report.errors += tally.errors;
        report.latencies_us.extend(tally.latencies_us);
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.latencies_us.sort_unstable();
    Ok(report)
}

/// Closed loop: `connections` clients send back-to-back for `duration`.
pub async fn closed_loop(
    addr: SocketAddr,
    auth: &str,
    path: PathFn,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let path = path.clone();
        let auth = auth.to_string();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(addr).await?;
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let ok = send(&mut sender, addr, &path(), &auth).await?;
                tally.add(ok, sent);
            }
            anyhow::Ok(tally)
        }));
    }
    merge(tasks, started).await
}

/// Closed loop over a fixed list: `connections` clients take the next of
/// `paths` until each has been requested once.
pub async fn each_once(
    addr: SocketAddr,
    auth: &str,
    paths: Arc<Vec<String>>,
    connections: usize,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (paths, next, auth) = (paths.clone(), next.clone(), auth.to_string());
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(addr).await?;
            let mut tally = Tally::default();
            while let Some(path) = paths.get(next.fetch_add(1, Ordering::Relaxed) as usize) {
                let sent = Instant::now();
                let ok = send(&mut sender, addr, path, &auth).await?;
                tally.add(ok, sent);
            }
            anyhow::Ok(tally)
        }));
    }
    merge(tasks, started).await
}

/// Closed loops against each of `targets` in turn, `slice` at a time,
/// until each has run for `duration`; one report per target, in order.
///
/// Loops run one after the other are each measured on a different machine
/// when the machine is shared and its speed drifts; taking turns gives the
/// baseline and the paths the same conditions, so their ratio holds still.
pub async fn interleaved(
    targets: &[(SocketAddr, PathFn)],
    auth: &str,
    connections: usize,
    duration: Duration,
    slice: Duration,
) -> anyhow::Result<Vec<Report>> {
    let slice = slice.min(duration);
    let mut reports = vec![Report::default(); targets.len()];
    while reports.iter().any(|r| r.seconds < duration.as_secs_f64()) {
        for ((addr, path), report) in targets.iter().zip(&mut reports) {
            let turn = closed_loop(*addr, auth, path.clone(), connections, slice).await?;
            report.requests += turn.requests;
            report.errors += turn.errors;
            report.seconds += turn.seconds;
            report.latencies_us.extend(turn.latencies_us);
        }
    }
    for report in &mut reports {
        report.latencies_us.sort_unstable();
    }
    Ok(reports)
}

/// Open loop: requests are scheduled at `rate` per second; latency runs from
/// the scheduled time, so a stall is charged to every request it delays.
pub async fn open_loop(
    addr: SocketAddr,
    auth: &str,
    path: PathFn,
    connections: usize,
    rate: u32,
    duration: Duration,
) -> anyhow::Result<Report> {
    let total = (rate as f64 * duration.as_secs_f64()) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let path = path.clone();
        let auth = auth.to_string();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(addr).await?;
            let mut tally = Tally::default();
            loop {
                let slot = next.fetch_add(1, Ordering::Relaxed);
                if slot >= total {
                    break;
                }
                let scheduled = started + interval * slot as u32;
                tokio::time::sleep_until(scheduled.into()).await;
                let ok = send(&mut sender, addr, &path(), &auth).await?;
                tally.add(ok, scheduled);
            }
            anyhow::Ok(tally)
        }));
    }
    merge(tasks, started).await
}
