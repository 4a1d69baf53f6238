//! `certsentry-bench ct-burst`: the certstream feed end to end, from a
//! websocket on loopback through the real client, the pipeline (100,000
//! watch entries) and the SQLite store, as `certsentry serve` runs it.
//!
//! 1. Flat out: the sender floods the same messages to a bare websocket read
//!    loop (the baseline) and then to the real feed; the ratio is the feed's
//!    consumption rate against the bare loop's, in the same run.
//! 2. A burst at `--rate` messages per second for `--seconds`: the feed's
//!    backlog (its queue depth, the `certsentry_ct_backlog` series) is
//!    sampled every 50 ms; keeping up means it stays small and is empty
//!    soon after the burst ends.
//!
//! The sender runs on its own thread and runtime; the feed gets a 2-thread
//! runtime, as the server does.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use certsentry_ct::certstream_client::{CertstreamConfig, webpki_tls};
use certsentry_ct::pipeline::{Pipeline, PipelineConfig};
use certsentry_ct::sources::{CtRuntime, Sources, run_certstream};
use certsentry_domain::OrgId;
use certsentry_domain::monitor::{Monitor, MonitorSpec};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, clap::Args)]
pub struct CtBurstArgs {
    /// Messages per second during the burst.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Length of the burst.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Messages sent in each flat-out run.
    #[arg(long, default_value_t = 100_000)]
    flood: usize,
    /// Distinct certificates (messages cycle through them).
    #[arg(long, default_value_t = 2_000)]
    certificates: usize,
}

/// What the sender does with its next connection.
#[derive(Debug, Clone, Copy)]
enum Plan {
    Flood(usize),
    Paced { rate: u64, seconds: u64 },
}

/// The sender: a websocket server on its own thread; each connection gets
/// the next plan. Returns its URL and where to send plans.
fn start_sender(messages: Arc<Vec<String>>) -> (String, mpsc::UnboundedSender<Plan>) {
    let (plans_tx, mut plans) = mpsc::unbounded_channel::<Plan>();
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("sender runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            url_tx
                .send(format!(
                    "ws://{}/full-stream",
                    listener.local_addr().unwrap()
                ))
                .unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                let Some(plan) = plans.recv().await else {
                    return;
                };
                let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                let mut cycle = messages.iter().cycle();
                match plan {
                    Plan::Flood(n) => {
                        for _ in 0..n {
                            ws.feed(Message::text(cycle.next().unwrap().as_str()))
                                .await
                                .unwrap();
                        }
                        ws.flush().await.unwrap();
                    }
                    Plan::Paced { rate, seconds } => {
                        // 100 ticks a second, each sending its share.
                        let per_tick = rate / 100;
                        let mut tick = tokio::time::interval(Duration::from_millis(10));
                        for _ in 0..seconds * 100 {
                            tick.tick().await;
                            for _ in 0..per_tick {
                                ws.feed(Message::text(cycle.next().unwrap().as_str()))
                                    .await
                                    .unwrap();
                            }
                            ws.flush().await.unwrap();
                        }
                    }
                }
                // Keep the connection open until the reader leaves.
                tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
            }
        });
    });
    (url_rx.recv().unwrap(), plans_tx)
}

/// The baseline: a bare websocket client counting text frames.
async fn bare_read(url: &str, n: usize) -> f64 {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let started = Instant::now();
    let mut seen = 0;
    while seen < n {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                std::hint::black_box(text.len());
                seen += 1;
            }
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    seen as f64 / started.elapsed().as_secs_f64()
}

pub fn run(args: CtBurstArgs) -> anyhow::Result<()> {
    let corpus = crate::ct::corpus(args.certificates)?;
    let messages = Arc::new(corpus.messages);
    let (url, plans) = start_sender(messages.clone());
    let runtime = crate::server_runtime();
    runtime.block_on(async move {
        let monitor = Arc::new(Monitor::new(
            OrgId::generate(),
            MonitorSpec::standard("bench", "client0.example", vec!["virginia".into()]),
        ));
        let mut results = Vec::new();

        plans.send(Plan::Flood(args.flood))?;
        let baseline = bare_read(&url, args.flood).await;

        // One feed per run, on a fresh pipeline and store so that the
        // flat-out run's findings do not deduplicate the burst's.
        for plan in [
            Plan::Flood(args.flood),
            Plan::Paced {
                rate: args.rate,
                seconds: args.seconds,
            },
        ] {
            let store = crate::cached_sqlite_store().await?;
            let pipeline = Arc::new(Pipeline::new(
                store,
                PipelineConfig {
                    grace: Duration::from_secs(10),
                    public_url: "http://127.0.0.1:8765".into(),
                    watch_refresh: Duration::from_secs(3600),
                },
                Arc::new(tokio::sync::Notify::new()),
            ));
            pipeline.replace_watch_list(crate::ct::watch_list(monitor.clone()));
            let sources = Arc::new(Sources::default());
            let source = sources.add("certstream".into(), "certstream");
            let runtime_view = CtRuntime {
                pipeline: pipeline.clone(),
                sources,
            };
            // Scraped as /metrics would: through a prometheus-client registry.
            let mut registry = prometheus_client::registry::Registry::with_prefix("certsentry");
            runtime_view.register_metrics(registry.sub_registry_with_prefix("ct"));
            let scrape = || {
                let mut text = String::new();
                prometheus_client::encoding::text::encode(&mut text, &registry)
                    .expect("writing to a String");
                text
            };
            plans.send(plan)?;
            let sent = match plan {
                Plan::Flood(n) => n as u64,
                Plan::Paced { rate, seconds } => rate / 100 * 100 * seconds,
            };
            let feed = tokio::spawn(run_certstream(
                CertstreamConfig::new(url.clone()),
                webpki_tls(),
                pipeline.clone(),
                source.clone(),
            ));
            let decider = tokio::spawn(pipeline.clone().run_decider());
            let stats = source.stats.clone();
            let started = Instant::now();
            let mut max_backlog = 0u64;
            let mut peak_metrics = String::new();
            let mut sender_done_at = None;
            let drained_at;
            // Drained: every message read, none queued.
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let backlog = stats.backlog.load(Ordering::Relaxed);
                if backlog > max_backlog {
                    max_backlog = backlog;
                    peak_metrics = scrape()
                        .lines()
                        .find(|l| l.starts_with("certsentry_ct_backlog{"))
                        .unwrap_or_default()
                        .to_string();
                }
                let read = stats.entries.load(Ordering::Relaxed);
                if let Plan::Paced { seconds, .. } = plan
                    && sender_done_at.is_none()
                    && started.elapsed() >= Duration::from_secs(seconds)
                {
                    sender_done_at = Some(Instant::now());
                }
                if read >= sent && backlog == 0 {
                    drained_at = Instant::now();
                    break;
                }
                if started.elapsed() > Duration::from_secs(300) {
                    anyhow::bail!("the feed did not drain: {read} of {sent} read, {backlog} queued");
                }
            }
            let elapsed = started.elapsed();
            feed.abort();
            decider.abort();
            let drain = sender_done_at.map(|done| drained_at.saturating_duration_since(done));
            results.push((plan, sent, elapsed, max_backlog, peak_metrics, drain));
        }

        println!("messages: {} B average, {} distinct certificates, 100,000 watch entries", messages.iter().map(String::len).sum::<usize>() / messages.len(), messages.len());
        println!("baseline   bare websocket read loop: {baseline:>10.0} messages/s");
        for (plan, sent, elapsed, max_backlog, peak, drain) in results {
            match plan {
                Plan::Flood(_) => {
                    let rate = sent as f64 / elapsed.as_secs_f64();
                    println!(
                        "flat out   feed → pipeline → SQLite: {rate:>10.0} messages/s (ratio {:.2} to the bare loop), peak backlog {max_backlog}",
                        rate / baseline
                    );
                }
                Plan::Paced { rate, seconds } => {
                    let drain = drain.unwrap_or_default().as_millis();
                    println!(
                        "burst      {rate} messages/s for {seconds} s ({sent} sent): all consumed {:.2} s after the start, backlog empty {drain} ms after the burst ended; peak backlog {max_backlog} messages",
                        elapsed.as_secs_f64()
                    );
                    if !peak.is_empty() {
                        println!("           at the peak, /metrics showed: {peak}");
                    }
                }
            }
        }
        Ok(())
    })
}
