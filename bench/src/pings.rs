//! `certsentry-bench pings`: heartbeat ping ingestion through the real API
//! into SQLite, with a bare axum handler measured in the same run. Every
//! monitor is pinged once first (its status change from pending to up,
//! reported on its own row), and then the stream of pings is measured.
//! Every `200` means the ping is committed; the run then counts the stored
//! rows.

use std::sync::Arc;
use std::time::Duration;

use certsentry_api::ApiConfig;
use certsentry_domain::check::CheckType;
use certsentry_domain::monitor::{MonitorKind, MonitorSpec};
use certsentry_store::ResultQuery;
use rand::RngExt;
use serde_json::json;

use crate::{bind, load, row, seed_with, server_runtime, spawn_bare_axum};

#[derive(Debug, clap::Args)]
pub struct PingArgs {
    /// Heartbeat monitors, each with its own token. A token may ping 60
    /// times a minute, so the run needs many to reach a high rate.
    #[arg(long, default_value_t = 30_000)]
    monitors: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Measure only the store's batch writes, in batches of this size.
    #[arg(long)]
    store_only: Option<usize>,
    #[command(flatten)]
    database: crate::Database,
}

fn heartbeat(i: usize) -> MonitorSpec {
    MonitorSpec {
        kind: MonitorKind::Heartbeat,
        target: None,
        check_ssl: false,
        check_domain: false,
        check_uptime: false,
        uptime_interval_seconds: None,
        heartbeat_interval_seconds: Some(3600),
        heartbeat_grace_seconds: Some(300),
        ..MonitorSpec::standard(&format!("cron {i}"), "", vec!["virginia".into()])
    }
}

pub fn run(args: PingArgs) -> anyhow::Result<()> {
    if let Some(batch) = args.store_only {
        return store_only(&args.database, args.monitors, batch, args.seconds);
    }
    let servers = server_runtime();
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let duration = Duration::from_secs(args.seconds);
    let (baseline_addr, api_addr, store, monitors) = servers.block_on(async {
        let baseline_addr = spawn_bare_axum().await;
        let store = args.database.store().await.expect("store");
        let (_, monitors) = seed_with(&*store, args.monitors, heartbeat)
            .await
            .expect("seed");
        let (listener, api_addr) = bind().await;
        let state = certsentry_api::testing::state(store.clone(), ApiConfig::default());
        tokio::spawn(certsentry_api::serve(
            listener,
            state,
            std::future::pending(),
        ));
        (baseline_addr, api_addr, store, monitors)
    });
    let tokens: Arc<Vec<String>> = Arc::new(
        monitors
            .iter()
            .map(|m| m.heartbeat_token.clone().expect("heartbeat token"))
            .collect(),
    );
    let ping: load::PathFn = {
        let tokens = tokens.clone();
        Arc::new(move || {
            format!(
                "/api/ping/{}",
                tokens[rand::rng().random_range(0..tokens.len())]
            )
        })
    };
    let bare: load::PathFn = Arc::new(|| "/x".to_string());

    println!("| run | req/s | ratio to bare axum | p50 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|");
    let first_pings: Arc<Vec<String>> =
        Arc::new(tokens.iter().map(|t| format!("/api/ping/{t}")).collect());
    let (first, pings, baseline) = client.block_on(async {
        let baseline =
            load::closed_loop(baseline_addr, "", bare, args.connections, duration).await?;
        row("bare axum handler (baseline)", &baseline, None);
        // Every monitor's first ping, which turns it from pending to up:
        // a write of the monitor's row and its alert state, once in its
        // life. Measured apart, so that the figure below is the steady
        // stream of pings from jobs already up, as a running install sees.
        let first = load::each_once(api_addr, "", first_pings, args.connections).await?;
        row(
            "GET /api/ping/:token, each monitor's first (status change)",
            &first,
            Some(baseline.rate()),
        );
        let pings = load::closed_loop(api_addr, "", ping, args.connections, duration).await?;
        row(
            "GET /api/ping/:token (persisted)",
            &pings,
            Some(baseline.rate()),
        );
        anyhow::Ok((first, pings, baseline.rate()))
    })?;
    // Every acknowledged ping must be a stored heartbeat result.
    let stored = servers.block_on(async {
        let mut stored = 0u64;
        for monitor in &monitors {
            let page = store
                .list_results(
                    &monitor.org_id,
                    &monitor.id,
                    &ResultQuery {
                        check_type: Some(CheckType::Heartbeat),
                        limit: 500,
                        ..Default::default()
                    },
                )
                .await?;
            stored += page.items.len() as u64;
        }
        anyhow::Ok(stored)
    })?;
    let acknowledged = first.requests + pings.requests;
    println!(
        "\nacknowledged {acknowledged} pings, {stored} stored ({} rejected by the per-token limit or failed)",
        first.errors + pings.errors
    );
    crate::figures::report(&[crate::figures::Figure {
        path: "heartbeat pings, persisted".into(),
        store: args.database.name().into(),
        value: pings.rate(),
        unit: "pings/s".into(),
        baseline: Some(baseline),
        goal: crate::figures::Goal::RatioAtLeast(0.35),
        goal_text: ">= 50,000/s, ratio >= 0.35".into(),
        complete: stored >= acknowledged,
    }])?;
    anyhow::ensure!(
        stored >= acknowledged,
        "{} acknowledged pings are missing from the store",
        acknowledged - stored
    );
    Ok(())
}

/// The store alone: batches of ping records written back to back, to tell
/// the store's ceiling from the HTTP path's.
pub fn store_only(
    database: &crate::Database,
    monitors: usize,
    batch: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let runtime = server_runtime();
    runtime.block_on(async {
        let store = database.store().await?;
        let (_, seeded) = seed_with(&*store, monitors, heartbeat).await?;
        let started = std::time::Instant::now();
        let mut written = 0usize;
        while started.elapsed() < Duration::from_secs(seconds) {
            let records: Vec<_> = (0..batch)
                .map(|_| {
                    let m = &seeded[rand::rng().random_range(0..seeded.len())];
                    let now = certsentry_domain::time::now_ms();
                    certsentry_store::CheckRecord {
                        org_id: m.org_id.clone(),
                        monitor_id: m.id.clone(),
                        results: vec![certsentry_domain::check::CheckResult {
                            id: certsentry_domain::ResultId::generate(),
                            org_id: m.org_id.clone(),
                            monitor_id: m.id.clone(),
                            check_type: CheckType::Heartbeat,
                            status: certsentry_domain::check::CheckStatus::Ok,
                            degraded: false,
                            region: None,
                            latency_ms: None,
                            http_status: None,
                            error: None,
                            details: json!({}),
                            created_at: now,
                        }],
                        state: None,
                        ping: Some(certsentry_store::HeartbeatState {
                            monitor_id: m.id.clone(),
                            org_id: m.org_id.clone(),
                            last_ping_at: now,
                            last_ping_ok: true,
                            missed: false,
                        }),
                        certificate: None,
                    }
                })
                .collect();
            store.record_checks(&records).await?;
            written += batch;
        }
        println!(
            "store only: {:.0} pings/s in batches of {batch}",
            written as f64 / started.elapsed().as_secs_f64()
        );
        anyhow::Ok(())
    })
}
