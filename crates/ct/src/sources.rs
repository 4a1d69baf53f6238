//! Running CT sources into the pipeline: the certstream feed, and each log
//! of the log list (RFC 6962 or tiled) with its position persisted after
//! every batch, paced requests, and backoff on 429/5xx and errors.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use certsentry_store::{LogPosition, Store};
use tokio::sync::mpsc;

use crate::certstream::StreamEntry;
use crate::certstream_client::{CertstreamConfig, run as run_feed};
use crate::issuance::Provenance;
use crate::log::{LogClient, LogError, LogSource, Tailer};
use crate::log_list::{LogKind, LogSpec};
use crate::pipeline::Pipeline;
use crate::tiled::TiledClient;

pub use crate::source_stats::SourceStats;

/// A named source and its stats.
#[derive(Debug)]
pub struct Source {
    /// `certstream`, or the log's description.
    pub name: String,
    /// `certstream`, `rfc6962` or `tiled`.
    pub kind: &'static str,
    pub stats: Arc<SourceStats>,
}

/// Every running source, for health and metrics.
#[derive(Debug, Default)]
pub struct Sources {
    pub list: std::sync::RwLock<Vec<Arc<Source>>>,
}

impl Sources {
    pub fn add(&self, name: String, kind: &'static str) -> Arc<Source> {
        let source = Arc::new(Source {
            name,
            kind,
            stats: Arc::new(SourceStats::default()),
        });
        self.list
            .write()
            .expect("sources lock")
            .push(source.clone());
        source
    }

    pub fn all(&self) -> Vec<Arc<Source>> {
        self.list.read().expect("sources lock").clone()
    }

    /// Samples every source's rate every `period`, for ever.
    pub async fn run_sampler(self: Arc<Self>, period: Duration) {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            for source in self.all() {
                source.stats.sample(period);
            }
        }
    }
}

/// Where a log seen for the first time starts (`CERTSENTRY_CT_START`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    End,
    Beginning,
    Index(u64),
}

impl std::str::FromStr for StartAt {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "end" => Ok(Self::End),
            "beginning" => Ok(Self::Beginning),
            other => other
                .parse()
                .map(Self::Index)
                .map_err(|_| format!("{other:?}: expected end, beginning or an entry index")),
        }
    }
}

/// Where logs seen for the first time start: one rule for every log
/// (`CERTSENTRY_CT_START`), and exceptions per log
/// (`CERTSENTRY_CT_LOG_START`), named by log id, URL or description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRules {
    pub default: StartAt,
    pub per_log: Vec<(String, StartAt)>,
}

impl Default for StartRules {
    fn default() -> Self {
        Self {
            default: StartAt::End,
            per_log: Vec::new(),
        }
    }
}

impl StartRules {
    /// Parses one `LOG=end|beginning|INDEX` exception. The split is at the
    /// last `=`, because base64 log ids end in `=`.
    pub fn parse_exception(text: &str) -> Result<(String, StartAt), String> {
        let (log, start) = text
            .trim()
            .rsplit_once('=')
            .ok_or_else(|| format!("{text:?}: expected LOG=end|beginning|INDEX"))?;
        if log.trim().is_empty() {
            return Err(format!("{text:?}: no log named before the ="));
        }
        Ok((log.trim().to_string(), start.parse()?))
    }

    /// The rule for `spec`.
    pub fn for_log(&self, spec: &LogSpec) -> StartAt {
        let url = match &spec.kind {
            LogKind::Rfc6962 { url } => url,
            LogKind::Tiled { monitoring_url } => monitoring_url,
        };
        let same_url = |a: &str| a.trim_end_matches('/') == url.trim_end_matches('/');
        self.per_log
            .iter()
            .find(|(name, _)| *name == spec.log_id || *name == spec.description || same_url(name))
            .map(|(_, start)| *start)
            .unwrap_or(self.default)
    }
}

/// How logs are read.
#[derive(Debug, Clone)]
pub struct LogTailing {
    pub start: StartRules,
    /// The least time between two requests to one log.
    pub pacing: Duration,
    /// How long to wait once caught up before asking for a new tree head.
    pub poll_interval: Duration,
    /// Entries per batch.
    pub batch: u64,
}

impl Default for LogTailing {
    fn default() -> Self {
        Self {
            start: StartRules::default(),
            pacing: Duration::from_millis(250),
            poll_interval: Duration::from_secs(15),
            batch: 256,
        }
    }
}

/// Runs the certstream feed and hands each entry, in order, to `handle`,
/// keeping the source's backlog (the queue's depth) current, until the
/// process ends. The feed reads and parses messages in its own task; the
/// queue is deep enough to absorb bursts.
pub async fn consume_certstream<F, Fut>(
    config: CertstreamConfig,
    tls: Arc<rustls::ClientConfig>,
    stats: Arc<SourceStats>,
    mut handle: F,
) where
    F: FnMut(StreamEntry) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (tx, mut rx) = mpsc::channel(65_536);
    let feed = tokio::spawn(run_feed(config, tls, stats.clone(), tx));
    while let Some(entry) = rx.recv().await {
        stats.backlog.store(rx.len() as u64, Ordering::Relaxed);
        handle(entry).await;
    }
    feed.abort();
}

/// Reads the certstream feed into the pipeline until the process ends.
pub async fn run_certstream(
    config: CertstreamConfig,
    tls: Arc<rustls::ClientConfig>,
    pipeline: Arc<Pipeline>,
    source: Arc<Source>,
) {
    let stats = source.stats.clone();
    consume_certstream(config, tls, stats.clone(), |entry| {
        let (pipeline, stats) = (pipeline.clone(), stats.clone());
        async move {
            match pipeline.stream_entry(&entry).await {
                Ok(true) => {}
                Ok(false) => {
                    stats.malformed.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!(error = %e, "could not record a certstream match"),
            }
        }
    })
    .await
}

/// The reader of one log of the list.
pub fn log_source(spec: &LogSpec, http: reqwest::Client, pacing: Duration) -> Arc<dyn LogSource> {
    match &spec.kind {
        LogKind::Rfc6962 { url } => Arc::new(LogClient::new(http, url).with_pacing(pacing)),
        LogKind::Tiled { monitoring_url } => {
            Arc::new(TiledClient::new(http, monitoring_url, pacing))
        }
    }
}

/// The tailer for a log: from its stored position, or new where `rules`
/// start it.
async fn tailer_for(
    spec: &LogSpec,
    reader: Arc<dyn LogSource>,
    store: &dyn Store,
    rules: &StartRules,
) -> Result<Tailer, LogError> {
    let store_err = |e: certsentry_store::StoreError| LogError::Transport(e.to_string());
    if let Some(stored) = store
        .get_log_position(&spec.log_id)
        .await
        .map_err(store_err)?
    {
        return Ok(Tailer::restore(reader.clone(), &stored.state)
            .unwrap_or_else(|| Tailer::starting_at(reader, stored.position)));
    }
    let tailer = match rules.for_log(spec) {
        StartAt::Beginning => Tailer::starting_at(reader, 0),
        StartAt::Index(i) => Tailer::starting_at(reader, i),
        StartAt::End => at_end(spec, reader).await?,
    };
    save(store, spec, &tailer).await.map_err(store_err)?;
    tracing::info!(
        log = %spec.description,
        position = tailer.position(),
        verified = tailer.verifies(),
        "CT log: first start"
    );
    Ok(tailer)
}

/// A tailer at the log's current end. The tree's right edge is read from
/// the log and checked against its head, so later heads are verified too;
/// a log that cannot give a matching edge is read without root checks.
async fn at_end(spec: &LogSpec, reader: Arc<dyn LogSource>) -> Result<Tailer, LogError> {
    let head = reader.tree_head().await?;
    let unverified = |why: String| {
        tracing::warn!(log = %spec.description, reason = %why, "CT log read without Merkle root checks");
        Tailer::starting_at(reader.clone(), head.tree_size)
    };
    match reader.frontier(&head).await {
        Ok(tree) if tree.size() == head.tree_size && tree.root() == head.root_hash => {
            Ok(Tailer::verified_at(reader.clone(), tree))
        }
        Ok(_) => Ok(unverified(
            "the tree's right edge does not match the log's head".into(),
        )),
        // Worth another try: the log is busy or unreachable.
        Err(e @ (LogError::Throttled { .. } | LogError::Transport(_))) => Err(e),
        Err(e) => Ok(unverified(e.to_string())),
    }
}

async fn save(
    store: &dyn Store,
    spec: &LogSpec,
    tailer: &Tailer,
) -> certsentry_store::StoreResult<()> {
    store
        .put_log_position(
            &spec.log_id,
            &LogPosition {
                position: tailer.position(),
                state: tailer.state(),
            },
        )
        .await
}

/// Tails one log into the pipeline until the process ends. The position is
/// stored after each batch has been processed, so a restart resumes right
/// after the last processed entry.
pub async fn run_log(
    spec: LogSpec,
    reader: Arc<dyn LogSource>,
    tailing: LogTailing,
    store: Arc<dyn Store>,
    pipeline: Arc<Pipeline>,
    source: Arc<Source>,
) {
    let stats = &source.stats;
    let max_backoff = Duration::from_secs(300);
    let mut backoff = Duration::from_secs(1);
    let mut tailer = loop {
        match tailer_for(&spec, reader.clone(), &*store, &tailing.start).await {
            Ok(t) => break t,
            Err(e) => {
                tracing::warn!(log = %spec.description, error = %e, "CT log unreachable");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(max_backoff);
            }
        }
    };
    tailer.batch = tailing.batch;
    let mut last_progress = tokio::time::Instant::now();
    loop {
        let result = tailer.poll_with_head(tailing.batch * 4).await;
        let wait = match result {
            Ok((entries, head)) => {
                stats.connected.store(true, Ordering::Relaxed);
                backoff = Duration::from_secs(1);
                let caught_up = entries.is_empty();
                match process(&spec, &entries, &pipeline, stats).await {
                    Ok(()) => {
                        if let Err(e) = save(&*store, &spec, &tailer).await {
                            tracing::warn!(log = %spec.description, error = %e, "could not store the log position");
                        }
                    }
                    Err(e) => {
                        // Not stored: read the batch again from the stored position.
                        tracing::warn!(log = %spec.description, error = %e, "CT batch not recorded; retrying");
                        if let Ok(t) =
                            tailer_for(&spec, reader.clone(), &*store, &tailing.start).await
                        {
                            tailer = t;
                            tailer.batch = tailing.batch;
                        }
                    }
                }
                let backlog = head.saturating_sub(tailer.position());
                stats.backlog.store(backlog, Ordering::Relaxed);
                if backlog > 0 && last_progress.elapsed() >= Duration::from_secs(30) {
                    last_progress = tokio::time::Instant::now();
                    tracing::info!(
                        log = %spec.description,
                        position = tailer.position(),
                        tree_size = head,
                        backlog,
                        "CT log catching up"
                    );
                }
                caught_up.then_some(tailing.poll_interval)
            }
            Err(LogError::Throttled {
                status,
                retry_after,
            }) => {
                let wait = retry_after.unwrap_or(backoff).min(max_backoff);
                tracing::info!(log = %spec.description, status, wait_s = wait.as_secs(), "CT log asks to slow down");
                backoff = (backoff * 2).min(max_backoff);
                Some(wait)
            }
            Err(e @ LogError::RootMismatch { .. }) => {
                tracing::warn!(log = %spec.description, error = %e, "CT log root mismatch");
                let _ = save(&*store, &spec, &tailer).await;
                Some(backoff)
            }
            Err(e) => {
                stats.connected.store(false, Ordering::Relaxed);
                tracing::warn!(log = %spec.description, error = %e, "CT log read failed");
                stats.reconnects.fetch_add(1, Ordering::Relaxed);
                let wait = backoff;
                backoff = (backoff * 2).min(max_backoff);
                Some(wait)
            }
        };
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
        }
    }
}

async fn process(
    spec: &LogSpec,
    entries: &[crate::log::TailedEntry],
    pipeline: &Pipeline,
    stats: &SourceStats,
) -> certsentry_store::StoreResult<()> {
    for tailed in entries {
        stats.entries.fetch_add(1, Ordering::Relaxed);
        let entry = match &tailed.entry {
            Ok(entry) => entry,
            Err(e) => {
                stats.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(log = %spec.description, index = tailed.index, error = %e, "malformed CT entry");
                continue;
            }
        };
        stats
            .last_entry_at
            .store(certsentry_domain::time::now_ms(), Ordering::Relaxed);
        let provenance = Provenance {
            source: spec.description.clone(),
            cert_link: match &spec.kind {
                LogKind::Rfc6962 { url } => Some(format!(
                    "{}/ct/v1/get-entries?start={i}&end={i}",
                    url.trim_end_matches('/'),
                    i = tailed.index
                )),
                LogKind::Tiled { .. } => None,
            },
            index: Some(tailed.index),
            seen_at: certsentry_domain::time::now_ms(),
        };
        if !pipeline.log_entry(entry, provenance).await? {
            stats.malformed.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// The running CT side, as `/healthz` and `/metrics` report it.
#[derive(Clone)]
pub struct CtRuntime {
    pub pipeline: Arc<Pipeline>,
    pub sources: Arc<Sources>,
}

impl CtRuntime {
    /// `/healthz`'s `ct` object.
    pub fn health(&self) -> serde_json::Value {
        let sources: Vec<serde_json::Value> = self
            .sources
            .all()
            .iter()
            .map(|s| {
                let last = s.stats.last_entry_at.load(Ordering::Relaxed);
                serde_json::json!({
                    "name": s.name,
                    "kind": s.kind,
                    "connected": s.stats.connected.load(Ordering::Relaxed),
                    "lastEntryAt": (last > 0).then(|| certsentry_domain::time::format_ms(last)),
                    "entriesPerSecond": (s.stats.entries_per_second() * 10.0).round() / 10.0,
                    "backlog": s.stats.backlog.load(Ordering::Relaxed),
                    "entries": s.stats.entries.load(Ordering::Relaxed),
                    "malformed": s.stats.malformed.load(Ordering::Relaxed),
                })
            })
            .collect();
        serde_json::json!({
            "watchEntries": self.pipeline.stats.watch_entries.load(Ordering::Relaxed),
            "sources": sources,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(log_id: &str, description: &str, url: &str) -> LogSpec {
        LogSpec {
            log_id: log_id.into(),
            description: description.into(),
            operator: "Test".into(),
            kind: LogKind::Rfc6962 { url: url.into() },
        }
    }

    #[test]
    fn start_rules_name_logs_by_id_url_or_description() {
        let rules = StartRules {
            default: StartAt::End,
            per_log: vec![
                StartRules::parse_exception("7s3QZNXbGs7FXLedtM0TojKHRny87N7DUUhZRnEftZs==123")
                    .unwrap(),
                StartRules::parse_exception("https://ct.example/b=beginning").unwrap(),
                StartRules::parse_exception(" Test 'C' log = end ").unwrap(),
            ],
        };
        let by_id = spec(
            "7s3QZNXbGs7FXLedtM0TojKHRny87N7DUUhZRnEftZs=",
            "A",
            "https://ct.example/a/",
        );
        assert_eq!(rules.for_log(&by_id), StartAt::Index(123));
        let by_url = spec("B=", "B", "https://ct.example/b/");
        assert_eq!(rules.for_log(&by_url), StartAt::Beginning);
        let by_name = spec("C=", "Test 'C' log", "https://ct.example/c/");
        assert_eq!(rules.for_log(&by_name), StartAt::End);
        let other = spec("D=", "D", "https://ct.example/d/");
        assert_eq!(rules.for_log(&other), StartAt::End);
        assert!(StartRules::parse_exception("no-equals").is_err());
        assert!(StartRules::parse_exception("=5").is_err());
        assert!(StartRules::parse_exception("log=soon").is_err());
    }
}
