//! `certsentry-bench api`: the core API's throughput and latency on loopback,
//! with a bare axum handler measured in the same run as the baseline.
//!
//! The servers run on their own 2-thread runtime; the load generator runs on
//! another, so both compete for this machine's cores as in a real deployment
//! with the load tool on the same host.

mod agent_footprint;
mod agents;
mod all;
mod ct;
mod ct_burst;
mod dashboard;
mod deliveries;
mod dmarc;
mod engine;
mod figures;
mod load;
mod pings;
mod procfs;
mod status_page;
mod tls_grade;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::routing::get;
use certsentry_api::ApiConfig;
use certsentry_domain::OrgId;
use certsentry_domain::apikey::new_api_key;
use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::monitor::{Monitor, MonitorSpec, MonitorStatus};
use certsentry_domain::org::Org;
use certsentry_domain::plan::{Plan, Plans};
use certsentry_domain::time::now_ms;
use certsentry_store::{CachedStore, Store, SyncChanges};
use certsentry_store_sqlite::SqliteBackend;
use clap::Parser;
use figures::{Figure, Goal};
use rand::RngExt;
use serde_json::json;

#[derive(Debug, Parser)]
#[command(about = "Loopback benchmarks for CertSentry")]
enum Bench {
    /// Every hot path with its same-run baseline, in one table with the goals.
    All(all::AllArgs),
    /// The core API: GET by id, list pages, paced latency.
    Api(Args),
    /// The check engine: HTTPS monitors through scheduler, probes and store.
    Engine(engine::EngineArgs),
    /// Heartbeat ping ingestion, persisted, against a bare axum handler.
    Pings(pings::PingArgs),
    /// Signed webhook deliveries through the SQLite outbox.
    Deliveries(deliveries::DeliveryArgs),
    /// The CT hot path: raw log entries and certstream JSON, on one core.
    Ct(ct::CtArgs),
    /// The certstream feed end to end: flat out against a bare websocket loop, and a 10k/s burst.
    CtBurst(ct_burst::CtBurstArgs),
    /// DMARC intake: parsing against bare quick-xml, a million-row upload, report mail by SMTP.
    Dmarc(dmarc::DmarcArgs),
    /// The TLS grade: one endpoint's scan time and handshakes, and CPU per handshake against bare rustls.
    TlsGrade(tls_grade::TlsGradeArgs),
    /// Public status pages: cached throughput and latency against bare axum, and an uncached 500-monitor render.
    StatusPage(status_page::StatusPageArgs),
    /// The dashboard's pages, signed in, for an organization of 10,000 monitors, paced.
    Dashboard(dashboard::DashboardArgs),
    /// Probe agents: simulated agents against two server nodes on Postgres.
    Agents(agents::AgentArgs),
    /// The real `certsentry agent` at 1,000 checks a minute: CPU and RSS.
    AgentFootprint(agent_footprint::FootprintArgs),
}

#[derive(Debug, clap::Args)]
struct Args {
    /// Monitors seeded into SQLite.
    #[arg(long, default_value_t = 10_000)]
    monitors: usize,
    /// Seconds per closed-loop measurement.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Request rate for the latency run.
    #[arg(long, default_value_t = 2_000)]
    rate: u32,
    #[command(flatten)]
    database: Database,
}

/// Where a store-backed benchmark keeps its data.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Database {
    /// Run on PostgreSQL (a fresh database on this server) instead of SQLite.
    #[arg(long)]
    database_url: Option<String>,
}

impl Database {
    /// `sqlite` or `postgres`, for the table.
    pub(crate) fn name(&self) -> &'static str {
        if self.database_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// The store `serve` would run: SQLite behind the monitor cache, or
    /// PostgreSQL read directly (several nodes may share it), in a fresh
    /// database.
    pub(crate) async fn store(&self) -> anyhow::Result<Arc<dyn Store>> {
        match &self.database_url {
            None => cached_sqlite_store().await,
            Some(url) => {
                let fresh = scratch_database(url).await?;
                Ok(Arc::new(
                    certsentry_store_postgres::PostgresBackend::connect(&fresh).await?,
                ))
            }
        }
    }
}

/// A fresh database on the server `admin_url` names (one per process).
pub(crate) async fn scratch_database(admin_url: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let name = format!("certsentry_bench_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&mut admin)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let mut url = url::Url::parse(admin_url)?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

pub(crate) fn spec(i: usize) -> MonitorSpec {
    MonitorSpec {
        uptime_interval_seconds: Some(60),
        alert_lead_days: vec![30, 14, 7, 3, 1],
        external_id: Some(format!("site-{i}")),
        ..MonitorSpec::standard(
            &format!("Client {i}"),
            &format!("site{i}.example.com"),
            vec!["virginia".into()],
        )
    }
}

/// Seeds an organization, a key and `count` monitors; returns the key and the ids.
pub(crate) async fn seed(store: &dyn Store, count: usize) -> anyhow::Result<(String, Vec<String>)> {
    let (key, monitors) = seed_with(store, count, spec).await?;
    Ok((key, monitors.iter().map(|m| m.id.to_string()).collect()))
}

/// Seeds an organization, a key and `count` monitors made by `make`.
pub(crate) async fn seed_with(
    store: &dyn Store,
    count: usize,
    make: impl Fn(usize) -> MonitorSpec,
) -> anyhow::Result<(String, Vec<Monitor>)> {
    let org = Org {
        id: OrgId::generate(),
        name: "bench".into(),
        plan: "bench".into(),
        created_at: now_ms(),
    };
    let actor = Actor::cli();
    store
        .create_org(
            &org,
            &AuditEvent::new(
                &org.id,
                &actor,
                "organization.create",
                "organization",
                org.id.as_str(),
                json!({}),
            ),
        )
        .await?;
    let (key, plaintext) = new_api_key(&org.id, "bench", false);
    store
        .create_api_key(
            &key,
            &AuditEvent::new(
                &org.id,
                &actor,
                "apiKey.create",
                "apiKey",
                key.id.as_str(),
                json!({}),
            ),
        )
        .await?;
    let now = now_ms();
    let monitors: Vec<Monitor> = (0..count)
        .map(|i| Monitor {
            last_status: MonitorStatus::Up,
            ssl_not_after: Some(now + 60 * 86_400_000),
            ..Monitor::new(org.id.clone(), make(i))
        })
        .collect();
    store
        .apply_sync(
            &org.id,
            &SyncChanges {
                create: monitors.clone(),
                ..Default::default()
            },
            u32::MAX,
            &[],
        )
        .await?;
    Ok((plaintext, monitors))
}

/// The plans of a benchmark's server: `plan` as the "bench" plan the seeded
/// organization is on, without a monitor quota, and every plan's rate
/// limits lifted, so that the load generator measures the server and not
/// its limiter.
pub(crate) fn bench_plans(plan: Plan) -> Plans {
    let mut plans = Plans::default().with_overrides(
        [(
            "bench".to_string(),
            Plan {
                display_name: "Bench".into(),
                max_monitors: u32::MAX,
                ..plan
            },
        )]
        .into(),
    );
    plans.set_rate_limits(u32::MAX / 2, u32::MAX / 2);
    plans
}

/// A rustls client (ring) that trusts only `root`: the bare baselines'.
/// It never resumes a session, as neither the probes nor the TLS scan do:
/// a resumed handshake skips the certificate and its verification, so it
/// is not the work a check does.
pub(crate) fn client_trusting(
    root: rustls::pki_types::CertificateDer<'static>,
) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root)?;
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

pub(crate) fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

pub(crate) async fn bind() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    (listener, addr)
}

/// The baseline: a bare axum handler at `/x` returning a small JSON body.
pub(crate) async fn spawn_bare_axum() -> SocketAddr {
    let (listener, addr) = bind().await;
    let bare = axum::Router::new().route("/x", get(|| async { Json(json!({"ok": true})) }));
    tokio::spawn(async move { axum::serve(listener, bare).await });
    addr
}

/// A SQLite store in a temporary directory kept for the process's life,
/// behind the monitor cache, as `certsentry serve` runs SQLite.
pub(crate) async fn cached_sqlite_store() -> anyhow::Result<Arc<dyn Store>> {
    let dir = tempfile::tempdir()?;
    let sqlite = SqliteBackend::open(&dir.path().join("bench.db")).await?;
    std::mem::forget(dir);
    Ok(Arc::new(CachedStore::load(sqlite).await?))
}

pub(crate) fn row(name: &str, report: &load::Report, baseline: Option<f64>) {
    let ratio = baseline.map_or("-".to_string(), |b| format!("{:.2}", report.rate() / b));
    println!(
        "| {name} | {:.0} | {ratio} | {:.2} | {:.2} | {} |",
        report.rate(),
        report.percentile_ms(0.50),
        report.percentile_ms(0.99),
        report.errors
    );
}

fn main() -> anyhow::Result<()> {
    // The server's allocator settings, so that memory figures are the server's.
    certsentry::memory::tune_allocator();
    // `CERTSENTRY_BENCH_LOG=info` installs the server's log subscriber at
    // that level, as `serve` does (its default is `info`), so that the
    // per-request span is paid for as it is in production.
    if let Ok(level) = std::env::var("CERTSENTRY_BENCH_LOG") {
        certsentry::logging::init(&level, certsentry::config::LogFormat::Text);
    }
    match Bench::parse() {
        Bench::All(args) => all::run(args),
        Bench::Api(args) => api(args),
        Bench::Engine(args) => engine::run(args),
        Bench::Pings(args) => pings::run(args),
        Bench::Deliveries(args) => deliveries::run(args),
        Bench::Ct(args) => ct::run(args),
        Bench::CtBurst(args) => ct_burst::run(args),
        Bench::Dmarc(args) => dmarc::run(args),
        Bench::TlsGrade(args) => tls_grade::run(args),
        Bench::StatusPage(args) => status_page::run(args),
        Bench::Dashboard(args) => dashboard::run(args),
        Bench::Agents(args) => agents::run(args),
        Bench::AgentFootprint(args) => agent_footprint::run(args),
    }
}

fn api(args: Args) -> anyhow::Result<()> {
    let servers = server_runtime();
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let duration = Duration::from_secs(args.seconds);

    // Baseline: a bare axum handler returning a small JSON body.
    let (baseline_addr, store, key, ids) = servers.block_on(async {
        let baseline_addr = spawn_bare_axum().await;
        let store = args.database.store().await.expect("store");
        let seeded = Instant::now();
        let (key, ids) = seed(&*store, args.monitors).await.expect("seed");
        eprintln!(
            "seeded {} monitors in {:.1}s",
            ids.len(),
            seeded.elapsed().as_secs_f64()
        );
        (baseline_addr, store, key, ids)
    });
    let config = ApiConfig {
        plans: bench_plans(Plan {
            max_regions: 3,
            ..Plan::default()
        }),
        ..ApiConfig::default()
    };
    let api_addr = servers.block_on(async {
        let (listener, addr) = bind().await;
        let state = certsentry_api::testing::state(store, config);
        tokio::spawn(certsentry_api::serve(
            listener,
            state,
            std::future::pending(),
        ));
        addr
    });

    let auth = format!("Bearer {key}");
    let ids = Arc::new(ids);
    let by_id: load::PathFn = {
        let ids = ids.clone();
        Arc::new(move || {
            format!(
                "/api/v1/monitors/{}",
                ids[rand::rng().random_range(0..ids.len())]
            )
        })
    };
    let pages: load::PathFn = {
        let ids = ids.clone();
        let last_full_page = ids.len().saturating_sub(100).max(1);
        Arc::new(move || {
            format!(
                "/api/v1/monitors?limit=100&cursor={}",
                ids[rand::rng().random_range(0..last_full_page)]
            )
        })
    };
    let bare: load::PathFn = Arc::new(|| "/x".to_string());

    println!("| run | req/s | ratio to bare axum | p50 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|");
    client.block_on(async {
        // Warm up caches and connections.
        load::closed_loop(
            api_addr,
            &auth,
            by_id.clone(),
            args.connections,
            Duration::from_secs(1),
        )
        .await?;
        // The baseline and the two paths take turns, a second at a time.
        let [baseline, get_one, list]: [load::Report; 3] = load::interleaved(
            &[
                (baseline_addr, bare.clone()),
                (api_addr, by_id.clone()),
                (api_addr, pages.clone()),
            ],
            &auth,
            args.connections,
            duration,
            Duration::from_secs(1),
        )
        .await?
        .try_into()
        .expect("one report per target");
        row("bare axum handler (baseline)", &baseline, None);
        let base = baseline.rate();
        row("GET /monitors/:id", &get_one, Some(base));
        row("GET /monitors?limit=100", &list, Some(base));
        let paced =
            load::open_loop(api_addr, &auth, by_id.clone(), 64, args.rate, duration).await?;
        row(
            &format!("GET /monitors/:id at {} req/s (open loop)", args.rate),
            &paced,
            None,
        );
        let store = args.database.name();
        let figure = |path: &str, report: &load::Report, ratio: f64, text: &str| Figure {
            path: path.into(),
            store: store.into(),
            value: report.rate(),
            unit: "req/s".into(),
            baseline: Some(base),
            goal: Goal::RatioAtLeast(ratio),
            goal_text: text.into(),
            complete: report.errors == 0,
        };
        figures::report(&[
            figure(
                &format!("`GET /monitors/:id`, {} monitors", args.monitors),
                &get_one,
                0.6,
                "ratio >= 0.6",
            ),
            Figure {
                goal: Goal::AtLeast(15_000.0),
                ..figure("`GET /monitors?limit=100`", &list, 0.0, ">= 15,000 req/s")
            },
        ])?;
        anyhow::Ok(())
    })?;
    Ok(())
}
