//! `certsentry-bench status-page`: a public status page of 100 monitors ×
//! 90 days served from the render cache (closed loop, and p95 at a paced
//! 1,000 req/s) against a bare axum handler serving a body of the same
//! size in the same run; and a 500-monitor page rendered uncached (the
//! store reads and the template), with its size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::check::{CheckResult, CheckStatus, CheckType};
use certsentry_domain::monitor::Monitor;
use certsentry_domain::status_page::{StatusPage, StatusPageMonitor, StatusPageSpec};
use certsentry_domain::time::now_ms;
use certsentry_domain::{ResultId, StatusPageId};
use certsentry_store::Store;
use serde_json::json;

use certsentry_web::status::finished_days::FinishedDays;

use crate::load::{self, PathFn};

#[derive(Debug, clap::Args)]
pub struct StatusPageArgs {
    /// Seconds per closed-loop measurement.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
}

const DAY_MS: i64 = 86_400_000;

/// A page of `count` monitors with 90 days of checks each (one failed
/// check in fifty), published at `slug`.
async fn seed_page(store: &Arc<dyn Store>, count: usize, slug: &str) -> anyhow::Result<()> {
    let (_, monitors) = crate::seed_with(&**store, count, crate::spec).await?;
    let now = now_ms();
    for chunk in monitors.chunks(50) {
        let results: Vec<CheckResult> = chunk
            .iter()
            .flat_map(|m: &Monitor| {
                (0..90).map(move |day| {
                    let at = now - day * DAY_MS;
                    CheckResult {
                        id: ResultId::generated_at(at),
                        org_id: m.org_id.clone(),
                        monitor_id: m.id.clone(),
                        check_type: CheckType::Uptime,
                        status: if day % 50 == 7 {
                            CheckStatus::Fail
                        } else {
                            CheckStatus::Ok
                        },
                        degraded: false,
                        region: Some("virginia".into()),
                        latency_ms: Some(120),
                        http_status: Some(200),
                        error: None,
                        details: json!({}),
                        created_at: at,
                    }
                })
            })
            .collect();
        store.insert_results(&results).await?;
    }
    let org = monitors[0].org_id.clone();
    let page = StatusPage {
        id: StatusPageId::generate(),
        org_id: org.clone(),
        spec: StatusPageSpec {
            slug: slug.into(),
            title: format!("{count} monitors"),
            description: None,
            enabled: true,
            monitors: monitors
                .iter()
                .enumerate()
                .map(|(i, m)| StatusPageMonitor {
                    monitor_id: m.id.clone(),
                    public_label: format!("Service {i}"),
                    show_target: false,
                    show_cert_health: true,
                })
                .collect(),
            embed_origins: Vec::new(),
        },
        created_at: now,
        updated_at: now,
    };
    let audit = AuditEvent::new(
        &org,
        &Actor::cli(),
        "statusPage.create",
        "statusPage",
        page.id.as_str(),
        json!({}),
    );
    store.create_status_page(&page, u32::MAX, &audit).await?;
    Ok(())
}

pub fn run(args: StatusPageArgs) -> anyhow::Result<()> {
    let servers = crate::server_runtime();
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let store = servers.block_on(crate::cached_sqlite_store())?;
    servers.block_on(seed_page(&store, 100, "hundred"))?;
    servers.block_on(seed_page(&store, 500, "five-hundred"))?;
    let pages = certsentry_web::status_pages(store.clone());
    let (listener, addr) = servers.block_on(crate::bind());
    servers.spawn(async move { axum::serve(listener, pages).await });

    // The page once, for its size, and the bare baseline serving as much.
    let html = client.block_on(async {
        reqwest::get(format!("http://{addr}/status/hundred"))
            .await?
            .text()
            .await
    })?;
    let body: Arc<str> = html.clone().into();
    let (bare_listener, bare) = servers.block_on(crate::bind());
    servers.spawn(async move {
        let router = axum::Router::new().route(
            "/x",
            get(move || {
                let body = body.clone();
                async move { axum::response::Html(body.to_string()) }
            }),
        );
        axum::serve(bare_listener, router).await
    });

    let seconds = Duration::from_secs(args.seconds);
    let bare_path: PathFn = Arc::new(|| "/x".to_string());
    let page_path: PathFn = Arc::new(|| "/status/hundred".to_string());
    let bare_report = client.block_on(load::closed_loop(
        bare,
        "",
        bare_path.clone(),
        args.connections,
        seconds,
    ))?;
    let page_report = client.block_on(load::closed_loop(
        addr,
        "",
        page_path.clone(),
        args.connections,
        seconds,
    ))?;
    let paced = client.block_on(load::open_loop(
        addr,
        "",
        page_path,
        args.connections,
        1_000,
        seconds,
    ))?;
    let bare_paced = client.block_on(load::open_loop(
        bare,
        "",
        bare_path,
        args.connections,
        1_000,
        seconds,
    ))?;

    // Uncached: the 500-monitor page read and rendered, five times cold
    // (nothing kept: the first render after a start) and five times as
    // every 10 s afterwards (the finished days kept, today's read).
    let time_renders = |kept: Option<&FinishedDays>| -> anyhow::Result<(Vec<Duration>, usize)> {
        let mut renders = Vec::new();
        let mut size = 0;
        for _ in 0..5 {
            let fresh = FinishedDays::default();
            let finished = kept.unwrap_or(&fresh);
            let started = Instant::now();
            let html = client
                .block_on(certsentry_web::status::render_uncached(
                    &*store,
                    "five-hundred",
                    finished,
                ))
                .map_err(anyhow::Error::msg)?;
            renders.push(started.elapsed());
            size = html.len();
        }
        renders.sort();
        Ok((renders, size))
    };
    let (cold, size) = time_renders(None)?;
    let kept = FinishedDays::default();
    time_renders(Some(&kept))?;
    let (renders, _) = time_renders(Some(&kept))?;
    // The bare baseline: the same 45,000 day cells read in one query.
    let mut bare_reads = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let cells = client.block_on(bare_day_cells(&*store))?;
        bare_reads.push(started.elapsed());
        assert!(cells > 40_000, "{cells} day cells");
    }
    bare_reads.sort();

    println!("| path | req/s | ratio to bare | p50 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|");
    crate::row(
        &format!("bare axum, same {} KB body (baseline)", html.len() / 1024),
        &bare_report,
        None,
    );
    crate::row(
        "status page, 100 monitors × 90 days, cached",
        &page_report,
        Some(bare_report.rate()),
    );
    println!();
    println!(
        "paced 1,000 req/s: status page p95 {:.2} ms (bare {:.2} ms)",
        paced.percentile_ms(0.95),
        bare_paced.percentile_ms(0.95)
    );
    println!(
        "uncached render, 500 monitors × 90 days, finished days kept: median {:.1} ms of 5, {} KB of HTML",
        renders[2].as_secs_f64() * 1000.0,
        size / 1024
    );
    println!(
        "uncached render, cold (nothing kept): median {:.1} ms of 5",
        cold[2].as_secs_f64() * 1000.0
    );
    println!(
        "bare read of the same 45,000 day cells: median {:.1} ms of 5",
        bare_reads[2].as_secs_f64() * 1000.0
    );
    Ok(())
}

/// The baseline of the cold render: the page's 45,000 day cells in one
/// store query, nothing else.
async fn bare_day_cells(store: &dyn Store) -> anyhow::Result<usize> {
    use certsentry_domain::time::{day_of, last_days, parse_day};
    let page = store
        .get_status_page_by_slug("five-hundred")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no page"))?;
    let monitors: Vec<_> = page
        .spec
        .monitors
        .iter()
        .map(|m| m.monitor_id.clone())
        .collect();
    let today = parse_day(&day_of(now_ms())).ok_or_else(|| anyhow::anyhow!("today"))?;
    let days = last_days(today, 90);
    let cells = store
        .list_daily_checks(&monitors, &days[0].to_string(), &today.to_string())
        .await?;
    Ok(cells.len())
}
