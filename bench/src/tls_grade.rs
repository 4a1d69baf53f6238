//! `certsentry-bench tls-grade`: grading one typical endpoint (a rustls
//! server: TLS 1.2 and 1.3, nine suites) from raw handshakes, its wall
//! time and handshake count, and the scan's CPU per handshake against a
//! bare loop of full rustls handshakes with the same server, measured in
//! the same run. Server and client share this process, as in the engine
//! benchmark, so both sides' CPU counts in both figures.

use std::time::{Duration, Instant};

use certsentry_domain::tls::grade::grade;
use certsentry_probes::ProbeConfig;
use certsentry_probes::testing::{Pki, https_server};
use certsentry_probes::tls_scan::{ScanConfig, judge_certificate, scan};
use rustls::pki_types::ServerName;

use crate::procfs::cpu_seconds;

#[derive(Debug, clap::Args)]
pub struct TlsGradeArgs {
    /// Scans for the CPU comparison (each about 40 handshakes).
    #[arg(long, default_value_t = 25)]
    scans: u32,
}

pub fn run(args: TlsGradeArgs) -> anyhow::Result<()> {
    let servers = crate::server_runtime();
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let pki = Pki::new();
    let (leaf, key) = pki.leaf(&["localhost"], None);
    let port = servers.block_on(https_server(
        vec![leaf, pki.intermediate.der().clone()],
        key,
    ));
    let probe = ProbeConfig {
        timeout: Duration::from_secs(10),
        allow_private_targets: true,
        extra_roots: vec![pki.root_der()],
        ..ProbeConfig::default()
    };
    let config = ScanConfig {
        gap: Duration::ZERO,
        timeout: Duration::from_secs(10),
    };

    // One grade, as a user waits for it: scan, certificate, letter.
    let mut walls = Vec::new();
    let mut handshakes = 0;
    let mut letter = String::new();
    for _ in 0..5 {
        let started = Instant::now();
        let mut found = client
            .block_on(scan("localhost", port, None, &probe, &config))
            .map_err(anyhow::Error::msg)?;
        judge_certificate(&mut found, "localhost", &probe);
        let graded = grade(&found.findings).ok_or_else(|| anyhow::anyhow!("no grade"))?;
        walls.push(started.elapsed());
        handshakes = found.findings.handshakes;
        letter = graded.grade;
    }
    walls.sort();
    let median = walls[walls.len() / 2];

    // CPU per handshake: many scans, then as many bare handshakes.
    let cpu_before = cpu_seconds();
    let mut scan_handshakes = 0u64;
    for _ in 0..args.scans {
        let found = client
            .block_on(scan("localhost", port, None, &probe, &config))
            .map_err(anyhow::Error::msg)?;
        scan_handshakes += u64::from(found.findings.handshakes);
    }
    let scan_cpu = cpu_seconds() - cpu_before;

    let tls = crate::client_trusting(pki.root_der())?;
    let cpu_before = cpu_seconds();
    client.block_on(async {
        for _ in 0..scan_handshakes {
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            let name = ServerName::try_from("localhost")?;
            tokio_rustls::TlsConnector::from(tls.clone())
                .connect(name, stream)
                .await?;
        }
        anyhow::Ok(())
    })?;
    let bare_cpu = cpu_seconds() - cpu_before;

    let per = |cpu: f64| cpu / scan_handshakes as f64 * 1e6;
    println!("| measure | figure |");
    println!("|---|---|");
    println!("| grade of a typical endpoint (TLS 1.2 + 1.3, rustls) | {letter} |");
    println!("| handshakes per grade | {handshakes} |");
    println!(
        "| wall time per grade, median of 5 | {:.0} ms |",
        median.as_secs_f64() * 1000.0
    );
    println!(
        "| CPU per scan handshake ({scan_handshakes} in {} scans) | {:.0} µs |",
        args.scans,
        per(scan_cpu)
    );
    println!(
        "| CPU per bare rustls handshake, same run | {:.0} µs |",
        per(bare_cpu)
    );
    println!(
        "| ratio (scan / bare) | {:.2} |",
        scan_cpu / bare_cpu.max(f64::EPSILON)
    );
    Ok(())
}
