//! The composition root: every long-lived part of `certsentry serve` is
//! built here, once, and nowhere else. That is the store's consumers (the
//! checker and its alerter, the scheduler, the heartbeat watcher, the
//! maintenance loops), the outbox worker and the waker they share, the CT
//! pipeline and its sources, and the one prometheus-client registry every
//! metric family is registered in. The API receives what it serves.
//!
//! Tests boot this same runtime on `127.0.0.1:0` through
//! [`Runtime::launch_with_tcp_listener`] (atuin's habit); only tests of the
//! process itself (signals, `kill -9`, the CLI) spawn the binary.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use certsentry_api::{ApiConfig, AppState};
use certsentry_engine::Checker;
use certsentry_engine::scheduler::{
    ClaimedSource, MonitorSource, Scheduler, SchedulerConfig, StoreSource,
};
use certsentry_notify::{Outbox, OutboxConfig, OutboxStats};
use certsentry_probes::{ProbeConfig, Prober};
use certsentry_store::Store;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use crate::config::{CtSettings, Settings, SmtpSettings};

mod agents;
mod ct;
mod dmarc;

/// What the runtime is built from: the settings, resolved.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub api: ApiConfig,
    pub outbox: OutboxConfig,
    pub ct: Option<CtSettings>,
    /// Runs due checks on their intervals. API tests turn it off to drive
    /// checks through `POST …/check` alone, so nothing races their counts.
    pub scheduler: bool,
    /// Every scheduled check at this interval instead of its monitor's
    /// (`serve --check-interval-ms`: compressed time for tests and demos).
    pub check_interval: Option<Duration>,
    /// How often overdue heartbeats are looked for.
    pub heartbeat_sweep: Duration,
    /// How often old results are pruned and daily stats finalized.
    pub maintenance: Duration,
    /// The DMARC SMTP listener, when one is wanted.
    pub smtp: Option<SmtpSettings>,
    /// Mailboxes polled for DMARC report mail.
    pub imap: Vec<certsentry_dmarc::imap::ImapAccount>,
    /// Looks up DMARC source names in the background. Tests that resolve
    /// through their own DNS server turn it off, so the two never race.
    pub ptr_lookups: bool,
    /// The dashboard's and status pages' settings.
    pub web: certsentry_web::WebConfig,
}

impl RuntimeConfig {
    /// The runtime `certsentry serve` builds from its settings.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let probe = probe_config(settings)?;
        let ct = &settings.ct;
        Ok(Self {
            api: ApiConfig {
                regions: settings.regions.clone(),
                plans: settings.plans.clone(),
                allow_private_targets: settings.allow_private_targets,
                probe,
                dmarc_mail_domain: settings.dmarc.mail_domain.clone(),
            },
            outbox: OutboxConfig {
                policy: settings.retry_policy.clone(),
                timeout: Duration::from_secs(settings.webhook_timeout_seconds),
                allow_private_targets: settings.allow_private_targets,
                operator: settings.operator.clone(),
                services: settings.services.clone(),
                chat_group_window: Duration::from_secs(settings.chat_group_seconds),
                ..Default::default()
            },
            ct: (ct.certstream_url.is_some() || ct.log_list.is_some()).then(|| ct.clone()),
            smtp: settings.dmarc.smtp.clone(),
            imap: dmarc::imap_accounts(&settings.dmarc.imap)?,
            web: certsentry_web::WebConfig {
                public_url: settings.public_url.clone(),
                mail: settings.operator.clone(),
                trusted_header: settings.trusted_header.clone(),
                github: settings.github.clone(),
                oidc: settings.oidc.clone(),
            },
            ..Self::default()
        })
    }
}

/// The scheduler over `source`, as a job, and its counters.
fn schedule<S: MonitorSource>(
    source: S,
    checker: Arc<Checker>,
    interval_override: Option<Duration>,
) -> (Job, Arc<certsentry_engine::scheduler::SchedulerStats>) {
    let config = SchedulerConfig {
        interval_override,
        ..SchedulerConfig::default()
    };
    let scheduler = Scheduler::new(source, checker, config);
    let stats = scheduler.stats.clone();
    (Box::pin(scheduler.run()), stats)
}

/// This process's id among the server nodes sharing a database: the host
/// name and a random part, new at every start.
fn node_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    format!("{host}-{:06x}", rand::random::<u32>() & 0xff_ffff)
}

/// The probes' settings (`certsentry serve` and `certsentry agent` alike).
pub fn probe_config(settings: &Settings) -> anyhow::Result<ProbeConfig> {
    let extra_roots = match &settings.probe_ca_file {
        Some(path) => certsentry_probes::load_pem_certificates(path).map_err(anyhow::Error::msg)?,
        None => Vec::new(),
    };
    Ok(ProbeConfig {
        timeout: Duration::from_secs(settings.probe_timeout_seconds),
        tls_scan_gap: Duration::from_millis(settings.tls_scan_gap_ms),
        allow_private_targets: settings.allow_private_targets,
        extra_roots,
        dns_servers: settings.dns_servers.clone(),
        registration: certsentry_probes::registration::RegistrationConfig {
            rdap_bootstrap: settings.rdap_bootstrap.clone(),
            cache_dir: Some(settings.data_dir.clone()),
            whois_server: settings.whois_server.clone(),
            ..Default::default()
        },
        region: None,
    })
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            api: ApiConfig::default(),
            outbox: OutboxConfig::default(),
            ct: None,
            scheduler: true,
            check_interval: None,
            heartbeat_sweep: Duration::from_secs(10),
            maintenance: Duration::from_secs(3600),
            smtp: None,
            imap: Vec::new(),
            ptr_lookups: true,
            web: certsentry_web::WebConfig {
                public_url: "http://127.0.0.1".into(),
                mail: None,
                trusted_header: None,
                github: None,
                oidc: None,
            },
        }
    }
}

type Job = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// Everything built and wired, nothing running yet.
pub struct Runtime {
    pub state: AppState,
    jobs: Vec<Job>,
    /// Where the DMARC SMTP listener is bound, if it runs.
    pub smtp_addr: Option<SocketAddr>,
    web: certsentry_web::WebConfig,
}

impl Runtime {
    /// Builds every part over `store` (opened and migrated).
    pub async fn build(store: Arc<dyn Store>, config: RuntimeConfig) -> anyhow::Result<Self> {
        if store.backend() == "sqlite" {
            // One process owns a SQLite file: leases left by a crash are ours.
            let released = store.release_delivery_leases().await?;
            if released > 0 {
                tracing::info!(released, "resuming deliveries interrupted by the last stop");
            }
        }
        let outbox_waker = Arc::new(Notify::new());
        let checker = Arc::new(Checker::with_outbox(
            store.clone(),
            Prober::new(config.api.probe_config()),
            outbox_waker.clone(),
        ));
        let mut registry = Registry::with_prefix("certsentry");
        let outbox_stats = Arc::new(OutboxStats::default());
        outbox_stats.register(&mut registry);
        checker.writer().register(&mut registry);
        let outbox = Arc::new(
            Outbox::new(store.clone(), config.outbox.clone(), outbox_waker.clone())
                .with_stats(outbox_stats.clone()),
        );
        let mut jobs: Vec<Job> = vec![
            Box::pin(outbox.run()),
            Box::pin(certsentry_engine::prune_results_forever(
                store.clone(),
                config.maintenance,
            )),
            Box::pin(certsentry_engine::finalize_stats_forever(
                store.clone(),
                config.maintenance,
            )),
            Box::pin(certsentry_engine::heartbeats::watch_heartbeats_forever(
                store.clone(),
                checker.alerter().clone(),
                config.heartbeat_sweep,
            )),
            Box::pin(agents::follow_agent_regions_forever(
                store.clone(),
                checker.clone(),
            )),
            Box::pin(certsentry_engine::regions::watch_regions_forever(
                store.clone(),
                outbox_waker.clone(),
                Duration::from_secs(10),
            )),
        ];
        // Before the first check: a region agents serve is never probed here.
        checker.set_agent_regions(agents::agent_regions(&*store).await?);
        let node_id = node_id();
        let mut scheduler_stats = None;
        if config.scheduler {
            // SQLite has one server process: it runs every monitor. Nodes
            // sharing Postgres claim their part of the schedule.
            let every = config.check_interval;
            let (job, stats) = if store.backend() == "sqlite" {
                schedule(StoreSource(store.clone()), checker.clone(), every)
            } else {
                let claimed = ClaimedSource::new(store.clone(), &node_id);
                schedule(claimed, checker.clone(), every)
            };
            scheduler_stats = Some(stats);
            jobs.push(job);
        }
        let node = Arc::new(certsentry_api::state::NodeStatus {
            id: node_id,
            scheduler: scheduler_stats,
            ..Default::default()
        });
        let ct = match &config.ct {
            Some(settings) => {
                let (ct, ct_jobs) =
                    ct::start(settings, store.clone(), outbox_waker, node.clone()).await?;
                ct.register_metrics(registry.sub_registry_with_prefix("ct"));
                jobs.extend(ct_jobs);
                Some(ct)
            }
            None => None,
        };
        let dmarc = dmarc::intake(store.clone(), &mut registry);
        for account in config.imap.iter().cloned() {
            jobs.push(Box::pin(certsentry_dmarc::imap::poll_forever(
                account,
                dmarc.clone(),
            )));
        }
        if config.ptr_lookups {
            jobs.extend(dmarc::ptr_job(store.clone(), &config.api.probe.dns_servers));
        }
        jobs.push(Box::pin(certsentry_web::dashboard::prune_sessions_forever(
            store.clone(),
            config.maintenance,
        )));
        jobs.push(Box::pin(dmarc::prune_forever(
            store.clone(),
            config.api.plans.clone(),
            config.maintenance,
        )));
        let smtp_addr = match &config.smtp {
            Some(smtp) => {
                let (addr, job) = dmarc::smtp(
                    smtp,
                    &config.api.dmarc_mail_domain,
                    dmarc.clone(),
                    store.clone(),
                )
                .await?;
                jobs.push(job);
                Some(addr)
            }
            None => None,
        };
        let metrics = certsentry_api::metrics::Metrics::new(registry);
        let state = AppState::new(store, config.api, checker, metrics, ct, dmarc).with_node(node);
        Ok(Self {
            state,
            jobs,
            smtp_addr,
            web: config.web,
        })
    }

    /// Serves on `listener` until `shutdown` resolves, with every
    /// background job running; stops them afterwards.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let tasks: Vec<JoinHandle<()>> = self.jobs.into_iter().map(tokio::spawn).collect();
        let pages = certsentry_web::router(self.state.clone(), self.web.clone());
        let served = certsentry_api::serve_with_pages(listener, self.state, pages, shutdown)
            .await
            .context("serving HTTP");
        for task in tasks {
            task.abort();
        }
        served
    }

    /// Starts serving on `listener` in the background; the server stops
    /// when the handle is dropped.
    pub fn launch_with_tcp_listener(self, listener: TcpListener) -> anyhow::Result<Launched> {
        let addr = listener.local_addr()?;
        let state = self.state.clone();
        let smtp_addr = self.smtp_addr;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            if let Err(e) = self
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
            {
                tracing::error!(error = %e, "the launched runtime stopped");
            }
        });
        Ok(Launched {
            addr,
            smtp_addr,
            state,
            stop: Some(stop),
            _task: task,
        })
    }
}

/// A runtime serving in the background (tests and benchmarks).
pub struct Launched {
    pub addr: SocketAddr,
    pub smtp_addr: Option<SocketAddr>,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    /// Serving; ends once `stop` fires and the background jobs are stopped.
    _task: JoinHandle<()>,
}

impl Launched {
    /// `http://127.0.0.1:PORT/api/v1`
    pub fn api_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
