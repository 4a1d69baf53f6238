//! `certsentry-bench dmarc`: DMARC report intake, three ways.
//!
//! - **parse**: our aggregate parser against a bare `quick-xml` event loop
//!   over the same bytes, on one core, in the same run.
//! - **upload**: one synthetic report of a million rows, gzipped, through
//!   `POST /dmarc/domains/:id/reports` into SQLite: wall time, and how far
//!   the peak RSS grows (the peak is reset just before the upload).
//! - **smtp**: report mails over loopback SMTP, each committed before its
//!   250, against a bare SMTP sink that answers the same dialogue without
//!   parsing or storing, in the same run.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use certsentry_api::ApiConfig;
use certsentry_domain::plan::Plan;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::{bind, cached_sqlite_store, seed_with, server_runtime, spec};

#[derive(Debug, clap::Args)]
pub struct DmarcArgs {
    /// Rows of the report the parse run reads.
    #[arg(long, default_value_t = 200_000)]
    parse_rows: usize,
    /// Rows of the uploaded report.
    #[arg(long, default_value_t = 1_000_000)]
    upload_rows: usize,
    /// Distinct source IPs among the uploaded rows.
    #[arg(long, default_value_t = 50_000)]
    upload_sources: usize,
    /// Report mails sent in the SMTP run.
    #[arg(long, default_value_t = 1_000)]
    mails: usize,
    /// Concurrent SMTP connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
}

/// Writes an aggregate report of `rows` rows over `sources` IPs.
fn write_report(
    out: &mut impl Write,
    id: &str,
    rows: usize,
    sources: usize,
) -> std::io::Result<()> {
    write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback><version>1.0</version><report_metadata>\
         <org_name>google.com</org_name><email>noreply-dmarc-support@google.com</email>\
         <report_id>{id}</report_id><date_range><begin>1767225600</begin><end>1767311999</end>\
         </date_range></report_metadata><policy_published><domain>example.com</domain><adkim>r</adkim>\
         <aspf>r</aspf><p>reject</p><sp>reject</sp><pct>100</pct></policy_published>\n"
    )?;
    for i in 0..rows {
        let ip = i % sources.max(1);
        let result = if i % 20 == 0 { "fail" } else { "pass" };
        writeln!(
            out,
            "<record><row><source_ip>10.{}.{}.{}</source_ip><count>{}</count><policy_evaluated>\
             <disposition>none</disposition><dkim>{result}</dkim><spf>{result}</spf></policy_evaluated>\
             </row><identifiers><header_from>example.com</header_from></identifiers><auth_results><dkim>\
             <domain>example.com</domain><result>{result}</result><selector>s1</selector></dkim><spf>\
             <domain>example.com</domain><result>{result}</result></spf></auth_results></record>",
            (ip >> 16) & 255,
            (ip >> 8) & 255,
            ip & 255,
            1 + i % 7,
        )?;
    }
    writeln!(out, "</feedback>")
}

fn gzip_report(id: &str, rows: usize, sources: usize) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    write_report(&mut encoder, id, rows, sources).expect("writing to memory");
    encoder.finish().expect("gzip in memory")
}

pub fn run(args: DmarcArgs) -> anyhow::Result<()> {
    parse(args.parse_rows)?;
    upload(args.upload_rows, args.upload_sources)?;
    smtp(args.mails, args.connections)
}

/// The bare baseline: every event of the document, nothing kept.
fn bare_quick_xml(xml: &str) -> usize {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut events = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) | Err(_) => return events,
            Ok(_) => events += 1,
        }
    }
}

fn parse(rows: usize) -> anyhow::Result<()> {
    let mut xml = Vec::new();
    write_report(&mut xml, "parse", rows, 5_000)?;
    let mb = xml.len() as f64 / 1e6;
    let text = std::str::from_utf8(&xml)?;
    let best = |f: &dyn Fn() -> u64| {
        (0..5)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(f());
                started.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    };
    let bare = best(&|| bare_quick_xml(text) as u64);
    let ours = best(&|| {
        certsentry_dmarc::parse_aggregate(&xml, None)
            .expect("the synthetic report parses")
            .message_count
    });
    println!("| DMARC parse ({rows} rows, {mb:.0} MB) | MB/s | ratio |");
    println!("|---|---|---|");
    println!(
        "| bare quick-xml event loop (baseline) | {:.0} | - |",
        mb / bare
    );
    println!(
        "| certsentry-dmarc parse_aggregate | {:.0} | {:.2} |",
        mb / ours,
        bare / ours
    );
    Ok(())
}

fn bench_config() -> ApiConfig {
    ApiConfig {
        plans: crate::bench_plans(Plan {
            max_dmarc_domains: 10,
            ..Plan::default()
        }),
        dmarc_mail_domain: "reports.bench.test".into(),
        ..ApiConfig::default()
    }
}

/// An API on SQLite with one DMARC domain; its address, key, domain id and
/// reporting address.
async fn api_with_domain() -> anyhow::Result<(
    SocketAddr,
    String,
    String,
    String,
    Arc<certsentry_api::AppState>,
)> {
    let store = cached_sqlite_store().await?;
    let (key, _) = seed_with(&*store, 0, spec).await?;
    let (listener, addr) = bind().await;
    let state = certsentry_api::testing::state(store, bench_config());
    tokio::spawn(certsentry_api::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    let created: Value = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/dmarc/domains"))
        .bearer_auth(&key)
        .json(&json!({ "domain": "example.com" }))
        .send()
        .await?
        .json()
        .await?;
    let id = created["domain"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let rua = created["ruaAddress"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok((addr, key, id, rua, Arc::new(state)))
}

fn upload(rows: usize, sources: usize) -> anyhow::Result<()> {
    let servers = server_runtime();
    let (addr, key, id, _, _state) = servers.block_on(api_with_domain())?;
    let body = gzip_report("upload-1", rows, sources);
    let compressed_mb = body.len() as f64 / 1e6;
    // The peak so far is the report's generation; measure from here.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = crate::procfs::status_kib("VmRSS").unwrap_or(0);
    let started = Instant::now();
    let answer: Value = servers.block_on(async {
        reqwest::Client::new()
            .post(format!("http://{addr}/api/v1/dmarc/domains/{id}/reports"))
            .bearer_auth(&key)
            .body(body)
            .timeout(Duration::from_secs(600))
            .send()
            .await?
            .json::<Value>()
            .await
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let peak_growth_mb = crate::procfs::status_kib("VmHWM")
        .unwrap_or(0)
        .saturating_sub(rss_before) as f64
        / 1024.0;
    let messages = &answer["reports"][0]["messageCount"];
    println!();
    println!(
        "| DMARC upload | rows | gzip MB | seconds | rows/s | peak RSS growth MB | messages counted |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| POST …/reports, {sources} sources | {rows} | {compressed_mb:.1} | {seconds:.1} | {:.0} | {peak_growth_mb:.0} | {messages} |",
        rows as f64 / seconds
    );
    Ok(())
}

/// A sink that speaks the SMTP dialogue and stores nothing: the baseline.
async fn bare_smtp_sink() -> SocketAddr {
    let (listener, addr) = bind().await;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        b"250 2.0.0 OK\r\n"
                    } else if line.eq_ignore_ascii_case("DATA") {
                        in_data = true;
                        b"354 go ahead\r\n"
                    } else if line.eq_ignore_ascii_case("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 OK\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// The report mails, made before the clock starts.
fn messages(rua: &str, mails: usize) -> anyhow::Result<Arc<Vec<String>>> {
    let mut out = Vec::with_capacity(mails);
    for i in 0..mails {
        let mut xml = Vec::new();
        write_report(&mut xml, &format!("smtp-{i}"), 20, 20)?;
        out.push(format!(
            "From: noreply-dmarc-support@google.com\r\nTo: {rua}\r\nSubject: Report {i}\r\n\
             Content-Type: text/xml\r\n\r\n{}\r\n.\r\n",
            String::from_utf8(xml)?.replace('\n', "\r\n")
        ));
    }
    Ok(Arc::new(out))
}

/// Sends the messages over `connections` connections; mails per second.
async fn send_mails(
    addr: SocketAddr,
    rua: &str,
    messages: Arc<Vec<String>>,
    connections: usize,
) -> anyhow::Result<f64> {
    let mails = messages.len();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (next, rua, messages) = (next.clone(), rua.to_string(), messages.clone());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let mut expect = async |prefix: &str| -> anyhow::Result<()> {
                loop {
                    let line = lines.next_line().await?.unwrap_or_default();
                    if line.len() > 3 && line.as_bytes()[3] == b'-' {
                        continue;
                    }
                    anyhow::ensure!(line.starts_with(prefix), "expected {prefix}, got {line:?}");
                    return Ok(());
                }
            };
            expect("220").await?;
            write.write_all(b"EHLO bench.test\r\n").await?;
            expect("250").await?;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= mails {
                    break;
                }
                let message = &messages[i];
                write.write_all(format!("MAIL FROM:<noreply-dmarc-support@google.com>\r\nRCPT TO:<{rua}>\r\nDATA\r\n").as_bytes()).await?;
                expect("250").await?;
                expect("250").await?;
                expect("354").await?;
                write.write_all(message.as_bytes()).await?;
                expect("250").await?;
            }
            write.write_all(b"QUIT\r\n").await?;
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(mails as f64 / started.elapsed().as_secs_f64())
}

fn smtp(mails: usize, connections: usize) -> anyhow::Result<()> {
    let servers = server_runtime();
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (smtp_addr, sink, rua) = servers.block_on(async {
        let (_, _, _, rua, state) = api_with_domain().await?;
        let (listener, smtp_addr) = bind().await;
        let config = Arc::new(certsentry_dmarc::smtp::SmtpConfig {
            mail_domain: "reports.bench.test".into(),
            max_message_bytes: 25 * 1024 * 1024,
            max_connections_per_ip: 1024,
            tls: None,
        });
        tokio::spawn(certsentry_dmarc::smtp::serve(
            listener,
            config,
            state.dmarc.clone(),
            state.store.clone(),
        ));
        anyhow::Ok((smtp_addr, bare_smtp_sink().await, rua))
    })?;
    let (bare, ours) = client.block_on(async {
        let bare = send_mails(sink, &rua, messages(&rua, mails)?, connections).await?;
        let ours = send_mails(smtp_addr, &rua, messages(&rua, mails)?, connections).await?;
        anyhow::Ok((bare, ours))
    })?;
    println!();
    println!("| DMARC by SMTP ({mails} mails, {connections} connections) | mails/s | ratio |");
    println!("|---|---|---|");
    println!("| bare SMTP sink, nothing stored (baseline) | {bare:.0} | - |");
    println!(
        "| certsentry listener, each report committed before 250 | {ours:.0} | {:.2} |",
        ours / bare
    );
    Ok(())
}
