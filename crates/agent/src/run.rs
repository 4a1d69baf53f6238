//! The agent's process: its configuration, its connection to the server,
//! and the three loops it runs (jobs, checks, uploads).

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use certsentry_domain::monitor::{Monitor, MonitorKind};
use certsentry_domain::time::now_ms;
use certsentry_engine::scheduler::{
    BoxFuture, MonitorRunner, MonitorSource, Scheduler, SchedulerConfig,
};
use certsentry_probes::http::HttpCheck;
use certsentry_probes::{ProbeConfig, Prober};

use crate::connection::{CallError, Connection, failure_text};
use crate::protocol::{
    Observation, ResultsRequest, ResultsResponse, TcpSeen, Upload, results_path,
};
use crate::spool::{Spool, SpoolLimits};
use crate::sync::{Held, keep_in_step};

#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The server's base URL (`https://…`).
    pub server: url::Url,
    pub region: String,
    /// `cst_…`, scoped to `region`.
    pub token: String,
    /// The same probe settings as the server's (private targets, extra CA).
    pub probe: ProbeConfig,
    /// Where results wait for the server.
    pub spool_dir: PathBuf,
    pub spool_limits: SpoolLimits,
    /// How many jobs this agent takes at most.
    pub capacity: u32,
    /// Checks in flight at once.
    pub max_concurrent: usize,
    /// Every held check at this interval instead of its monitor's: time
    /// compressed for end-to-end tests and demos.
    pub interval_override: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{0}")]
    Config(String),
    #[error("the results buffer: {0}")]
    Spool(#[from] std::io::Error),
    #[error("the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Plain `http://` only to a loopback server, or where private targets are
/// allowed (tests, a LAN): a token must not cross the internet in clear.
fn check_server(config: &AgentConfig) -> Result<(), AgentError> {
    let url = &config.server;
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if loopback || config.probe.allow_private_targets {
                Ok(())
            } else {
                Err(AgentError::Config(format!(
                    "--server {url}: use https:// (plain http only to a loopback server or with --allow-private-targets)"
                )))
            }
        }
        other => Err(AgentError::Config(format!(
            "--server {url}: {other}:// is not http(s)"
        ))),
    }
}

fn client(config: &AgentConfig) -> Result<reqwest::Client, AgentError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("certsentry-agent/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        // A long poll lasts up to 25 s.
        .timeout(Duration::from_secs(60));
    // The probes' extra CA also vouches for a server with a private CA.
    for root in &config.probe.extra_roots {
        builder = builder.add_root_certificate(reqwest::Certificate::from_der(root)?);
    }
    Ok(builder.build()?)
}

/// Runs one held job's check and spools what it saw.
struct CheckRunner {
    prober: Prober,
    spool: Arc<Spool>,
    region: String,
}

impl CheckRunner {
    async fn observe(&self, monitor: &Monitor) -> Option<Observation> {
        let spec = &monitor.spec;
        match spec.kind {
            MonitorKind::Standard => {
                let check = HttpCheck::from_spec(spec)?;
                Some(Observation::Uptime(self.prober.http(&check).await))
            }
            MonitorKind::Tcp => {
                let (target, port) = (spec.target.as_deref()?, spec.tcp_port?);
                let seen = self.prober.tcp(target, port).await;
                Some(Observation::Tcp(TcpSeen { port, seen }))
            }
            MonitorKind::Heartbeat => None,
        }
    }
}

impl MonitorRunner for CheckRunner {
    fn run(self: Arc<Self>, monitor: Arc<Monitor>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let checked_at = now_ms();
            let Some(observation) = self.observe(&monitor).await else {
                return;
            };
            let key = format!(
                "{}-{}-{checked_at}-{:016x}",
                monitor.id,
                self.region,
                rand::random::<u64>()
            );
            self.spool.push(Upload {
                key,
                monitor_id: monitor.id.to_string(),
                checked_at,
                observation,
            });
        })
    }
}

struct HeldSource(Arc<Held>);

impl MonitorSource for HeldSource {
    fn load(&self) -> BoxFuture<'_, Vec<Monitor>> {
        Box::pin(async move { self.0.monitors() })
    }
}

/// Writes pending results to disk and uploads the batches, oldest first,
/// until one fails; then tries again every few seconds. While the server
/// is away the buffer is written every 30 seconds, not every second, so
/// that a long outage leaves a few large files rather than many small ones.
async fn upload_forever(connection: Arc<Connection>, spool: Arc<Spool>) {
    const FLUSH_OFFLINE: Duration = Duration::from_secs(30);
    const RETRY: Duration = Duration::from_secs(3);
    let mut failing = false;
    let (mut since_flush, mut since_try) = (Duration::ZERO, Duration::ZERO);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        since_flush += Duration::from_secs(1);
        since_try += Duration::from_secs(1);
        if !failing || since_flush >= FLUSH_OFFLINE {
            since_flush = Duration::ZERO;
            if let Err(e) = spool.flush() {
                tracing::error!(error = %e, "cannot write the results buffer");
                continue;
            }
        }
        if failing && since_try < RETRY {
            continue;
        }
        since_try = Duration::ZERO;
        let Ok(batches) = spool.batches() else {
            continue;
        };
        for batch in batches {
            let uploads = match Spool::read(&batch) {
                Ok(uploads) => uploads,
                Err(e) => {
                    tracing::error!(file = %batch.display(), error = %e, "an unreadable results batch is set aside");
                    let _ = std::fs::rename(&batch, batch.with_extension("bad"));
                    continue;
                }
            };
            let request = ResultsRequest { results: uploads };
            let path = results_path(&connection.region);
            match connection.post::<_, ResultsResponse>(&path, &request).await {
                Ok(answer) => {
                    if failing {
                        tracing::info!("uploading results again");
                        failing = false;
                    }
                    tracing::debug!(?answer, "results uploaded");
                    let _ = Spool::remove(&batch);
                }
                // A batch the server will never take (malformed) would
                // block every later one: set it aside.
                Err(CallError::Refused(status @ (400 | 413 | 422), body)) => {
                    tracing::error!(status, %body, "the server refused a results batch; set aside");
                    let _ = std::fs::rename(&batch, batch.with_extension("refused"));
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %failure_text(&e), "cannot upload results; they wait on disk");
                        failing = true;
                    }
                    break;
                }
            }
        }
    }
}

/// Runs the agent until `shutdown` resolves; pending results are written
/// to disk before it returns.
pub async fn run(
    config: AgentConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    check_server(&config)?;
    if config.region.is_empty() || config.token.is_empty() {
        return Err(AgentError::Config(
            "--region and --token are required".into(),
        ));
    }
    let spool = Arc::new(Spool::open(&config.spool_dir, config.spool_limits.clone())?);
    let connection = Arc::new(Connection {
        client: client(&config)?,
        server: config.server.clone(),
        token: config.token.clone(),
        region: config.region.clone(),
    });
    let held = Arc::new(Held::default());
    let mut probe = config.probe.clone();
    probe.region = Some(config.region.clone());
    let runner = Arc::new(CheckRunner {
        prober: Prober::new(probe),
        spool: spool.clone(),
        region: config.region.clone(),
    });
    let scheduler = Scheduler::new(
        HeldSource(held.clone()),
        runner,
        SchedulerConfig {
            refresh_every: Duration::from_secs(2),
            max_concurrent: config.max_concurrent,
            interval_override: config.interval_override,
        },
    );
    tracing::info!(
        server = %config.server,
        region = %config.region,
        allow_private_targets = config.probe.allow_private_targets,
        "CertSentry agent {} started",
        env!("CARGO_PKG_VERSION")
    );
    let jobs = tokio::spawn(keep_in_step(connection.clone(), held, config.capacity));
    let checks = tokio::spawn(scheduler.run());
    let uploads = tokio::spawn(upload_forever(connection, spool.clone()));
    shutdown.await;
    for task in [jobs, checks, uploads] {
        task.abort();
    }
    spool.flush()?;
    tracing::info!(
        dropped_batches = spool.dropped_batches.load(Ordering::Relaxed),
        "agent stopped; unsent results stay on disk for the next start"
    );
    Ok(())
}
