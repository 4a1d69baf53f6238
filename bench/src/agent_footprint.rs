//! `certsentry-bench agent-footprint`: the real `certsentry agent` process
//! (the release binary beside this one) checking 1,000 monitors a minute
//! against a loopback target, reporting to an in-process server. Reports
//! the checks it made, its CPU share of one core and its peak RSS.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::routing::get;
use certsentry_api::ApiConfig;
use certsentry_domain::agent::new_agent_token;
use certsentry_domain::monitor::MonitorSpec;
use certsentry_domain::plan::Plan;

use crate::{bind, cached_sqlite_store, seed_with, server_runtime};

#[derive(Debug, clap::Args)]
pub struct FootprintArgs {
    /// Monitors at 60 s: checks per minute.
    #[arg(long, default_value_t = 1_000)]
    monitors: usize,
    /// Seconds measured, after a 20 s warm-up.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
}

pub fn run(args: FootprintArgs) -> anyhow::Result<()> {
    let binary = std::env::current_exe()?.with_file_name("certsentry");
    anyhow::ensure!(
        binary.exists(),
        "{} is missing: build it with `cargo build --release -p certsentry`",
        binary.display()
    );
    let servers = server_runtime();
    let hits = Arc::new(AtomicU64::new(0));
    let (server, token) = servers.block_on(async {
        let seen = hits.clone();
        let (listener, target) = bind().await;
        let bare = axum::Router::new().route(
            "/",
            get(move || {
                seen.fetch_add(1, Ordering::Relaxed);
                async { "ok" }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, bare).await });
        let store = cached_sqlite_store().await?;
        let url = format!("http://{target}/");
        seed_with(&*store, args.monitors, |i| MonitorSpec {
            uptime_interval_seconds: Some(60),
            check_ssl: false,
            check_domain: false,
            ..MonitorSpec::standard(
                &format!("m{i}"),
                &format!("{url}?{i}"),
                vec!["dublin".into()],
            )
        })
        .await?;
        let (token, plaintext) = new_agent_token("dublin", "bench");
        store.create_agent_token(&token).await?;
        let config = ApiConfig {
            plans: crate::bench_plans(Plan::default()),
            ..ApiConfig::default()
        };
        let (listener, server) = bind().await;
        let state = certsentry_api::testing::state(store, config);
        tokio::spawn(certsentry_api::serve(
            listener,
            state,
            std::future::pending(),
        ));
        anyhow::Ok((server, plaintext))
    })?;
    let buffer = tempfile::tempdir()?;
    let mut agent = Command::new(&binary)
        .args(["agent", "--region", "dublin", "--allow-private-targets"])
        .args(["--server", &format!("http://{server}")])
        .arg("--data-dir")
        .arg(buffer.path())
        .env("CERTSENTRY_AGENT_TOKEN", &token)
        .env("CERTSENTRY_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("CERTSENTRY_CONFIG")
        .stdout(Stdio::null())
        .spawn()?;
    let pid = agent.id();
    std::thread::sleep(Duration::from_secs(20));
    let process = pid.to_string();
    let (cpu_before, hits_before) = (
        crate::procfs::cpu_seconds_of(&process),
        hits.load(Ordering::Relaxed),
    );
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(args.seconds));
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = crate::procfs::cpu_seconds_of(&process) - cpu_before;
    let checks = hits.load(Ordering::Relaxed) - hits_before;
    let rss = crate::procfs::status_kib_of(&process, "VmHWM").unwrap_or(0);
    let _ = agent.kill();
    let _ = agent.wait();
    let cpu_share = cpu / elapsed;
    println!("| measure | figure | goal |");
    println!("|---|---|---|");
    println!(
        "| checks made | {:.0}/min | 1,000/min |",
        checks as f64 / elapsed * 60.0
    );
    println!(
        "| CPU | {:.1} % of one core ({:.2} ms per check) | one core |",
        cpu_share * 100.0,
        cpu * 1000.0 / checks.max(1) as f64
    );
    println!("| peak RSS | {:.1} MiB | < 40 MiB |", rss as f64 / 1024.0);
    Ok(())
}
