//! The CT side of the runtime: the pipeline, its watch list and decider,
//! and one source per configured feed (certstream, each log of the list).

use std::sync::Arc;
use std::time::Duration;

use certsentry_ct::pipeline::{Pipeline, PipelineConfig};
use certsentry_ct::sources::{self, CtRuntime, LogTailing, Sources};

use super::Job;
use crate::config::CtSettings;

/// Builds the CT pipeline and its sources; the jobs run them.
pub async fn start(
    settings: &CtSettings,
    store: std::sync::Arc<dyn certsentry_store::Store>,
    outbox: std::sync::Arc<tokio::sync::Notify>,
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
    if let Some(url) = &settings.certstream_url {
        let source = all.add("certstream".into(), "certstream");
        let tls = certsentry_ct::certstream_client::webpki_tls();
        tasks.push(Box::pin(sources::run_certstream(
            certsentry_ct::certstream_client::CertstreamConfig::new(url.clone()),
            tls,
            pipeline.clone(),
            source,
        )));
    }
    if let Some(list) = &settings.log_list {
        let http = reqwest::Client::builder()
            .user_agent(concat!("CertSentry/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(60))
            .build()?;
        let text = certsentry_ct::log_list::load(list, &http).await?;
        let logs = certsentry_ct::log_list::parse(&text, certsentry_domain::time::now_ms())?;
        let tailing = LogTailing {
            start: settings.start.clone(),
            pacing: settings.pacing,
            poll_interval: settings.poll_interval,
            ..Default::default()
        };
        for log in logs {
            let kind = match log.kind {
                certsentry_ct::log_list::LogKind::Rfc6962 { .. } => "rfc6962",
                certsentry_ct::log_list::LogKind::Tiled { .. } => "tiled",
            };
            let source = all.add(log.description.clone(), kind);
            let reader = sources::log_source(&log, http.clone(), tailing.pacing);
            tasks.push(Box::pin(sources::run_log(
                log,
                reader,
                tailing.clone(),
                store.clone(),
                pipeline.clone(),
                source,
            )));
        }
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
