//! `certsentry-bench agents`: simulated probe agents speaking the real
//! `/agent/v1` protocol to two server nodes (the API, as `serve` mounts
//! it) on one PostgreSQL database. Reports job claims per second, results
//! ingested per second at the offered load (every monitor checked from 3
//! regions every 60 s), and the lag from a check to its acknowledged
//! upload; the baseline is bare multi-row INSERTs of as many result rows
//! into the same database, measured in the same run.
//!
//! `certsentry-bench agent-footprint`: the real `certsentry agent` binary
//! running 1,000 checks a minute against a loopback target; its CPU share
//! of one core and its peak RSS.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use certsentry_agent::protocol::{
    JobsRequest, JobsResponse, Observation, ResultsRequest, ResultsResponse, Upload,
};
use certsentry_api::ApiConfig;
use certsentry_domain::agent::new_agent_token;
use certsentry_domain::monitor::MonitorSpec;
use certsentry_domain::plan::Plan;
use certsentry_domain::time::now_ms;
use certsentry_probes::http::HttpObservation;
use certsentry_store::Store;

use crate::scratch_database;
use crate::{bind, seed_with, server_runtime};

const REGIONS: [&str; 3] = ["virginia", "dublin", "singapore"];

#[derive(Debug, clap::Args)]
pub struct AgentArgs {
    /// Monitors, each checked from the three regions every 60 s.
    #[arg(long, default_value_t = 20_000)]
    monitors: usize,
    /// Simulated agents per region.
    #[arg(long, default_value_t = 2)]
    agents_per_region: usize,
    /// Seconds of steady checking measured.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// The PostgreSQL server (a scratch database is made on it).
    #[arg(
        long,
        env = "CERTSENTRY_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
}

fn bench_config() -> ApiConfig {
    ApiConfig {
        plans: crate::bench_plans(Plan {
            max_regions: 3,
            ..Plan::default()
        }),
        regions: REGIONS.iter().map(|r| r.to_string()).collect(),
        ..ApiConfig::default()
    }
}

fn spec(i: usize) -> MonitorSpec {
    MonitorSpec {
        uptime_interval_seconds: Some(60),
        check_ssl: false,
        check_domain: false,
        ..MonitorSpec::standard(
            &format!("Client {i}"),
            &format!("site{i}.example.com"),
            REGIONS.iter().map(|r| r.to_string()).collect(),
        )
    }
}

/// One simulated agent: its token, region and server, and the jobs it holds.
struct Sim {
    client: reqwest::Client,
    server: SocketAddr,
    region: &'static str,
    token: String,
    held: Vec<String>,
}

impl Sim {
    async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        let answer = self
            .client
            .post(format!(
                "http://{}/agent/v1/regions/{}/{path}",
                self.server, self.region
            ))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await?
            .error_for_status()?;
        Ok(answer.json().await?)
    }

    /// Claims until the agent holds its share; returns how many it took.
    async fn claim(&mut self) -> anyhow::Result<usize> {
        let request = JobsRequest {
            capacity: Some(10_000),
            known: Vec::new(),
            wait_seconds: 0,
        };
        let answer: JobsResponse = self.post("jobs", &request).await?;
        let new = answer.held.len() - self.held.len().min(answer.held.len());
        self.held = answer.held;
        Ok(new)
    }
}

fn second_of(id: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    hasher.finish() % 60
}

fn observation() -> Observation {
    Observation::Uptime(HttpObservation {
        ok: true,
        degraded: false,
        latency_ms: 42,
        http_status: Some(200),
        error: None,
        phases: Default::default(),
        final_url: "https://site.example.com/".into(),
        redirects: 0,
        hsts_max_age: None,
        served_tls: None,
    })
}

pub fn run(args: AgentArgs) -> anyhow::Result<()> {
    let servers = server_runtime();
    let clients = server_runtime();
    let url = servers.block_on(scratch_database(&args.database_url))?;
    // Two nodes: each its own pool on the one database.
    let (stores, addrs) = servers.block_on(async {
        let mut stores: Vec<Arc<dyn Store>> = Vec::new();
        let mut addrs = Vec::new();
        for _ in 0..2 {
            let store: Arc<dyn Store> =
                Arc::new(certsentry_store_postgres::PostgresBackend::connect(&url).await?);
            let (listener, addr) = bind().await;
            let state = certsentry_api::testing::state(store.clone(), bench_config());
            tokio::spawn(certsentry_api::serve(
                listener,
                state,
                std::future::pending(),
            ));
            stores.push(store);
            addrs.push(addr);
        }
        anyhow::Ok((stores, addrs))
    })?;
    let seeded = Instant::now();
    servers.block_on(seed_with(&*stores[0], args.monitors, spec))?;
    eprintln!(
        "seeded {} monitors in {:.1} s",
        args.monitors,
        seeded.elapsed().as_secs_f64()
    );
    let mut sims = Vec::new();
    for (r, region) in REGIONS.iter().enumerate() {
        for a in 0..args.agents_per_region {
            let (token, plaintext) = new_agent_token(region, &format!("{region}-{a}"));
            servers.block_on(stores[0].create_agent_token(&token))?;
            sims.push(Sim {
                client: reqwest::Client::new(),
                server: addrs[(r + a) % 2],
                region,
                token: plaintext,
                held: Vec::new(),
            });
        }
    }

    // Claims: every agent polls until the region's jobs are all held.
    let total = args.monitors * REGIONS.len();
    let started = Instant::now();
    let sims = clients.block_on(async {
        let mut held = 0;
        while held < total {
            held = 0;
            for sim in sims.iter_mut() {
                sim.claim().await?;
                held += sim.held.len();
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(600),
                "claims stalled at {held}"
            );
        }
        anyhow::Ok(sims)
    })?;
    let claim_secs = started.elapsed().as_secs_f64();

    // Results: each agent uploads, every second, the checks of its jobs due
    // in that second (phase-spread as the scheduler spreads them).
    let stored = Arc::new(AtomicU64::new(0));
    let lags = Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    // One full interval first: every monitor's first result in a region
    // writes its outage-rule state once; the steady state is measured.
    let warm_up = Duration::from_secs(60);
    let measured_from = Instant::now() + warm_up;
    let deadline = measured_from + Duration::from_secs(args.seconds);
    clients.block_on(async {
        let mut tasks = Vec::new();
        for sim in sims {
            let (stored, lags) = (stored.clone(), lags.clone());
            tasks.push(tokio::spawn(async move {
                let mut by_second: HashMap<u64, Vec<String>> = HashMap::new();
                for id in &sim.held {
                    by_second.entry(second_of(id)).or_default().push(id.clone());
                }
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                let mut sequence = 0u64;
                while Instant::now() < deadline {
                    tick.tick().await;
                    let now = now_ms();
                    let due = by_second
                        .get(&((now / 1000) as u64 % 60))
                        .cloned()
                        .unwrap_or_default();
                    for chunk in due.chunks(1000) {
                        let results = chunk
                            .iter()
                            .map(|id| {
                                sequence += 1;
                                Upload {
                                    key: format!(
                                        "{}-{now}-{sequence}",
                                        sim.token.get(4..12).unwrap_or("")
                                    ),
                                    monitor_id: id.clone(),
                                    checked_at: now,
                                    observation: observation(),
                                }
                            })
                            .collect();
                        let answer: ResultsResponse =
                            sim.post("results", &ResultsRequest { results }).await?;
                        if Instant::now() >= measured_from {
                            stored.fetch_add(answer.stored as u64, Ordering::Relaxed);
                            lags.lock().unwrap().push(now_ms() - now);
                        }
                    }
                }
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        anyhow::Ok(())
    })?;
    let run_secs = measured_from.elapsed().as_secs_f64();
    let ingested = stored.load(Ordering::Relaxed) as f64 / run_secs;
    let mut lags = lags.lock().unwrap().clone();
    lags.sort_unstable();
    let p99 = lags.get(lags.len() * 99 / 100).copied().unwrap_or(0);

    // Baseline: bare multi-row INSERTs of result rows, 1,000 per statement.
    let bare = servers.block_on(bare_inserts(&url, Duration::from_secs(5)))?;
    println!("| measure | figure | goal |");
    println!("|---|---|---|");
    println!(
        "| job claims ({total} jobs, {} agents, 2 nodes) | {:.0}/s | |",
        REGIONS.len() * args.agents_per_region,
        total as f64 / claim_secs
    );
    println!(
        "| results ingested (offered {:.0}/s) | {ingested:.0}/s ({:.3} of bare inserts) | 5,000/s at 100,000 monitors |",
        total as f64 / 60.0,
        ingested / bare
    );
    println!("| check → acknowledged upload, p99 | {p99} ms | < 2,000 ms |");
    println!("| bare multi-row INSERT | {bare:.0} rows/s | |");
    Ok(())
}

/// Rows per second of bare 1,000-row INSERTs into a copy of the results
/// table, for `time`.
async fn bare_inserts(url: &str, time: Duration) -> anyhow::Result<f64> {
    let pool = sqlx::PgPool::connect(url).await?;
    sqlx::query("CREATE TABLE bench_results (LIKE check_results)")
        .execute(&pool)
        .await?;
    let started = Instant::now();
    let mut rows = 0u64;
    while started.elapsed() < time {
        let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "INSERT INTO bench_results (id, org_id, monitor_id, check_type, status, degraded, \
             region, latency_ms, http_status, error, details, created_at) ",
        );
        query.push_values(0..1000u64, |mut row, i| {
            row.push_bind(format!("r{rows}-{i}"))
                .push_bind("org")
                .push_bind("monitor")
                .push_bind("uptime")
                .push_bind("ok")
                .push_bind(false)
                .push_bind("dublin")
                .push_bind(42i64)
                .push_bind(200i64)
                .push_bind(None::<String>)
                .push_bind("{}")
                .push_bind(now_ms());
        });
        query.build().execute(&pool).await?;
        rows += 1000;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}
