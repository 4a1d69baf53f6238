//! The CT side of the runtime: the pipeline, its watch list and decider,
//! and one source per configured feed (certstream, each log of the list),
//! tailed by one node at a time when several share the database.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use certsentry_ct::pipeline::{Pipeline, PipelineConfig};

use certsentry_api::state::NodeStatus;
use certsentry_ct::log_list::LogSpec;
use certsentry_ct::sources::{self, CtRuntime, LogTailing, Source, Sources};
use certsentry_domain::time::now_ms;
use certsentry_store::Store;

use super::Job;
use crate::config::CtSettings;

/// How long CT leadership lasts without renewal, and how often the leader
/// renews it: a dead leader is replaced within the lease, and a leader
/// that cannot renew stops tailing before its lease runs out.
const CT_LEASE_MS: i64 = 30_000;
const CT_RENEW_EVERY: Duration = Duration::from_secs(10);

/// The feeds the CT leader tails: one job each, made anew for every term.
struct Feeds {
    certstream: Option<(String, Arc<Source>)>,
    logs: Vec<(LogSpec, Arc<Source>)>,
    http: reqwest::Client,
    tailing: LogTailing,
    store: Arc<dyn Store>,
    pipeline: Arc<Pipeline>,
}

impl Feeds {
    fn jobs(&self) -> Vec<Job> {
        let mut jobs: Vec<Job> = Vec::new();
        if let Some((url, source)) = &self.certstream {
            jobs.push(Box::pin(sources::run_certstream(
                certsentry_ct::certstream_client::CertstreamConfig::new(url.clone()),
                certsentry_ct::certstream_client::webpki_tls(),
                self.pipeline.clone(),
                source.clone(),
            )));
        }
        for (log, source) in &self.logs {
            let reader = sources::log_source(log, self.http.clone(), self.tailing.pacing);
            jobs.push(Box::pin(sources::run_log(
                log.clone(),
                reader,
                self.tailing.clone(),
                self.store.clone(),
                self.pipeline.clone(),
                source.clone(),
            )));
        }
        jobs
    }
}

/// Nodes sharing a database take turns at CT: one tails every feed while
/// it holds the `ct` leadership (a lease row whose epoch is the fencing
/// token), renewing it every 10 s; at the first renewal that fails or
/// finds another epoch it stops, and another node takes over within the
/// lease, from the log positions stored after each batch. A finding is
/// unique per organization and certificate, so an entry read twice is
/// still alerted once.
async fn lead_forever(feeds: Feeds, store: Arc<dyn Store>, node: Arc<NodeStatus>) {
    loop {
        let epoch = match store.lead("ct", &node.id, now_ms(), CT_LEASE_MS).await {
            Ok(Some(epoch)) => epoch,
            Ok(None) => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not ask for CT leadership");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        tracing::info!(epoch, node = %node.id, "this node now tails Certificate Transparency");
        node.ct_leader.store(true, Ordering::Relaxed);
        let tasks: Vec<tokio::task::JoinHandle<()>> =
            feeds.jobs().into_iter().map(tokio::spawn).collect();
        loop {
            tokio::time::sleep(CT_RENEW_EVERY).await;
            match store.lead("ct", &node.id, now_ms(), CT_LEASE_MS).await {
                Ok(Some(renewed)) if renewed == epoch => {}
                other => {
                    tracing::warn!(outcome = ?other.map_err(|e| e.to_string()), "CT leadership lost; this node stops tailing");
                    break;
                }
            }
        }
        for task in tasks {
            task.abort();
        }
        node.ct_leader.store(false, Ordering::Relaxed);
    }
}

/// Builds the CT pipeline and its sources; the jobs run them.
pub async fn start(
    settings: &CtSettings,
    store: Arc<dyn Store>,
    outbox: Arc<tokio::sync::Notify>,
    node: Arc<NodeStatus>,
) -> anyhow::Result<(CtRuntime, Vec<Job>)> {
    let pipeline = Arc::new(Pipeline::new(
        store.clone(),
        PipelineConfig {
            grace: settings.grace,
            public_url: settings.public_url.clone(),
            watch_refresh: settings.watch_refresh,
        },
        outbox,
    ));
    let entries = pipeline.refresh_watch_list().await?;
    let all = Arc::new(Sources::default());
    let mut tasks: Vec<Job> = vec![
        Box::pin(pipeline.clone().run_watch_refresh()),
        Box::pin(pipeline.clone().run_decider()),
        Box::pin(all.clone().run_sampler(Duration::from_secs(10))),
    ];
    let http = reqwest::Client::builder()
        .user_agent(concat!("CertSentry/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(60))
        .build()?;
    let certstream = settings
        .certstream_url
        .as_ref()
        .map(|url| (url.clone(), all.add("certstream".into(), "certstream")));
    let mut logs = Vec::new();
    if let Some(list) = &settings.log_list {
        let text = certsentry_ct::log_list::load(list, &http).await?;
        for log in certsentry_ct::log_list::parse(&text, certsentry_domain::time::now_ms())? {
            let kind = match log.kind {
                certsentry_ct::log_list::LogKind::Rfc6962 { .. } => "rfc6962",
                certsentry_ct::log_list::LogKind::Tiled { .. } => "tiled",
            };
            let source = all.add(log.description.clone(), kind);
            logs.push((log, source));
        }
    }
    let feeds = Feeds {
        certstream,
        logs,
        http,
        tailing: LogTailing {
            start: settings.start.clone(),
            pacing: settings.pacing,
            poll_interval: settings.poll_interval,
            ..Default::default()
        },
        store: store.clone(),
        pipeline: pipeline.clone(),
    };
    if store.backend() == "sqlite" {
        // One process owns a SQLite file: it is the leader.
        node.ct_leader.store(true, Ordering::Relaxed);
        tasks.extend(feeds.jobs());
    } else {
        tasks.push(Box::pin(lead_forever(feeds, store, node)));
    }
    tracing::info!(
        watch_entries = entries,
        sources = all.all().len(),
        "Certificate Transparency monitoring on"
    );
    Ok((
        CtRuntime {
            pipeline,
            sources: all,
        },
        tasks,
    ))
}
