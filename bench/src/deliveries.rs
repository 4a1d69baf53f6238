//! `certsentry-bench deliveries`: signed webhook deliveries through the
//! persistent outbox (SQLite) to a loopback receiver, against a bare
//! reqwest POST loop to the same receiver in the same run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::routing::post;
use certsentry_api::inputs::ChannelInput;
use certsentry_domain::alert::{Event, EventMonitor, EventType, Severity};
use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::channel::{Channel, validate_channel};
use certsentry_domain::org::Org;
use certsentry_domain::time::now_ms;
use certsentry_domain::{EventId, OrgId};
use certsentry_notify::{Outbox, OutboxConfig};
use certsentry_store::Store;
use serde_json::json;

use crate::{bind, server_runtime};

#[derive(Debug, clap::Args)]
pub struct DeliveryArgs {
    /// Events queued, one delivery each.
    #[arg(long, default_value_t = 30_000)]
    events: usize,
    /// Seconds of the bare POST loop.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    #[command(flatten)]
    database: crate::Database,
}

fn audit(org: &OrgId) -> AuditEvent {
    AuditEvent::new(org, &Actor::cli(), "bench", "bench", "bench", json!({}))
}

pub fn run(args: DeliveryArgs) -> anyhow::Result<()> {
    let receivers = server_runtime();
    let received = Arc::new(AtomicU64::new(0));
    let url = receivers.block_on(async {
        let (listener, addr) = bind().await;
        let counter = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            post(move |_body: axum::body::Bytes| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::Relaxed);
                    "ok"
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/hook")
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // Baseline: the same signed body POSTed by a bare client, 256 at a time.
        let client = reqwest::Client::new();
        let body = serde_json::to_vec(&json!({"event": "uptime.down", "severity": "critical"}))?;
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let sent = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..256 {
            let (client, url, body, sent) = (client.clone(), url.clone(), body.clone(), sent.clone());
            tasks.spawn(async move {
                while Instant::now() < deadline {
                    if client.post(&url).body(body.clone()).send().await.is_ok() {
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        let baseline = sent.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();

        // The outbox: events with their pending deliveries in SQLite, then the worker.
        let store: Arc<dyn Store> = args.database.store().await?;
        let org = Org {
            id: OrgId::generate(),
            name: "bench".into(),
            plan: "agency".into(),
            created_at: now_ms(),
        };
        store.create_org(&org, &audit(&org.id)).await?;
        let input: ChannelInput =
            serde_json::from_value(json!({"name": "sink", "type": "webhook", "url": url}))?;
        let spec = validate_channel(input.into(), None).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let channel = Channel::new(org.id.clone(), spec);
        store.create_channel(&channel, &audit(&org.id)).await?;
        let queued = Instant::now();
        for i in 0..args.events {
            let event = Event {
                id: EventId::generate(),
                org_id: org.id.clone(),
                monitor_id: None,
                environment_id: None,
                event_type: EventType::UptimeDown,
                severity: Severity::Critical,
                status: "down".into(),
                monitor: Some(EventMonitor {
                    id: format!("m{i}"),
                    label: format!("Client {i}"),
                    target: Some(format!("site{i}.example.com")),
                }),
                details: json!({"Last error": "connect timeout"}),
                subject: Default::default(),
                created_at: now_ms(),
            };
            store.record_alert(None, Some(&event), None).await?;
        }
        eprintln!(
            "queued {} events in {:.1}s",
            args.events,
            queued.elapsed().as_secs_f64()
        );
        received.store(0, Ordering::Relaxed);
        let outbox = Arc::new(Outbox::new(
            store.clone(),
            OutboxConfig {
                allow_private_targets: true,
                poll: Duration::from_millis(20),
                ..Default::default()
            },
            Arc::new(tokio::sync::Notify::new()),
        ));
        let started = Instant::now();
        // The server's own loop (overlapping rounds), until every event is
        // delivered and its attempt recorded (the outbox counted only then).
        let worker = tokio::spawn(outbox.clone().run());
        while outbox.stats.delivered.load(Ordering::Relaxed) < args.events as u64
            || store.count_pending_deliveries().await? > 0
        {
            anyhow::ensure!(!worker.is_finished(), "the outbox stopped");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        worker.abort();
        let delivered = outbox.stats.delivered.load(Ordering::Relaxed);
        let rate = delivered as f64 / elapsed;
        println!("| run | deliveries/s | ratio to bare POST loop |");
        println!("|---|---|---|");
        println!("| bare reqwest POST loop, 256 in flight (baseline) | {baseline:.0} | - |");
        println!(
            "| outbox: claim, sign (certsentry scheme), POST, record attempt ({}) | {rate:.0} | {:.2} |",
            args.database.name(),
            rate / baseline
        );
        println!(
            "\n{delivered} delivered, {} received, {} failed",
            received.load(Ordering::Relaxed),
            outbox.stats.failed.load(Ordering::Relaxed)
        );
        crate::figures::report(&[crate::figures::Figure {
            path: "signed deliveries through the outbox".into(),
            store: args.database.name().into(),
            value: rate,
            unit: "deliveries/s".into(),
            baseline: Some(baseline),
            goal: crate::figures::Goal::RatioAtLeast(0.25),
            goal_text: ">= 15,000/s, ratio >= 0.25".into(),
            complete: delivered as usize == args.events,
        }])?;
        anyhow::ensure!(delivered as usize == args.events, "not every event was delivered");
        anyhow::Ok(())
    })
}
