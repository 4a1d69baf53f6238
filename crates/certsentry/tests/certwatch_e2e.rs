//! certwatch's e2e scenario against the local Postgres, through
//! `certsentry certwatch` run exactly as certwatch is: its env vars, its
//! schema.sql, `public.intent_current` seeded with `ethereum.org`, a fake
//! certstream server and a fake webhook receiver (the seed's harness).
//!
//! The receiver sees a `WEBHOOK RX` (a suspicious alert) for the
//! unauthorized certificate and none for the known or unwatched ones. The
//! known certificate's alert arrives as `info`: certwatch sends every match,
//! and info alerts are its heartbeat. The first six requests fail, so both
//! alerts use up their three attempts and are swept and delivered later. A
//! restart with the feed replayed alerts nothing twice.

mod serve;

use std::process::{Command, Stdio};
use std::time::Duration;

use certsentry_ct::testing::{TestCa, certstream_message};
use certsentry_probes::testing::WebhookReceiver;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use serve::{ChildGuard, free_port, get_json, get_text, wait_for};
use sha1::Digest;
use sqlx::Connection;
use tokio_tungstenite::tungstenite::Message;

fn message(der: &[u8], precert: bool, names: &[&str], index: u64) -> String {
    certstream_message(der, precert, names, index, "Google 'Argon2026h2' log")
}

/// A certstream server that sends `stream` to every connection.
async fn certstream(stream: Vec<String>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let stream = stream.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                for m in stream {
                    if ws.send(Message::text(m)).await.is_err() {
                        return;
                    }
                }
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    url
}

fn start(env: &[(&str, String)]) -> ChildGuard {
    let mut command = Command::new(env!("CARGO_BIN_EXE_certsentry"));
    command
        .arg("certwatch")
        .env_remove("CERTSENTRY_LOG")
        // Its warnings are the expected failed attempts; keep CI's output readable.
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    ChildGuard(command.spawn().unwrap())
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_e2e_scenario() {
    let Some(dsn) = certsentry_store_postgres::testing::fresh_database().await else {
        return;
    };
    // psql "$POSTGRES_DSN" -f schema.sql
    let schema = Command::new(env!("CARGO_BIN_EXE_certsentry"))
        .args(["certwatch", "--print-schema"])
        .output()
        .unwrap();
    assert!(schema.status.success());
    let mut db = sqlx::PgConnection::connect(&dsn).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(
        String::from_utf8(schema.stdout).unwrap(),
    ))
    .execute(&mut db)
    .await
    .unwrap();
    sqlx::raw_sql(
        "INSERT INTO public.intent_current (fqdn) VALUES ('ethereum.org') ON CONFLICT DO NOTHING;",
    )
    .execute(&mut db)
    .await
    .unwrap();

    let ca = TestCa::new("Google Trust Services");
    let unauthorized = ca.issue(&["foo.ethereum.org", "bar.example.com"], 1);
    let known = ca.issue(&["www.ethereum.org"], 2);
    let unwatched = ca.issue(&["www.example.com"], 3);
    // The load balancer's inventory has the known certificate, as openssl prints its fingerprint.
    sqlx::query(
        "INSERT INTO public.certs (fingerprint_sha1, fqdn) VALUES ($1, 'www.ethereum.org')",
    )
    .bind(colon_hex(&sha1::Sha1::digest(&known.certificate)))
    .execute(&mut db)
    .await
    .unwrap();

    let stream = vec![
        r#"{"message_type":"heartbeat","timestamp":1795000000}"#.to_string(),
        message(
            &unauthorized.precertificate,
            true,
            &["foo.ethereum.org", "bar.example.com"],
            1,
        ),
        message(&known.precertificate, true, &["www.ethereum.org"], 2),
        "{not json".to_string(),
        message(&unwatched.precertificate, true, &["www.example.com"], 3),
        message(
            &unauthorized.certificate,
            false,
            &["foo.ethereum.org", "bar.example.com"],
            4,
        ),
        message(&known.certificate, false, &["www.ethereum.org"], 5),
    ];
    let certstream_url = certstream(stream).await;
    // The first six requests fail: both alerts' whole first rounds, however
    // their attempts interleave.
    let receiver = WebhookReceiver::start(vec![500; 6], Duration::ZERO).await;
    let port = free_port();
    let env = vec![
        ("POSTGRES_DSN", dsn.clone()),
        ("CERTSTREAM_URL", certstream_url),
        ("WEBHOOK_URL", receiver.url.clone()),
        ("API_HOST", "127.0.0.1".to_string()),
        ("API_PORT", port.to_string()),
        ("SUSPICIOUS_GRACE_S", "1".to_string()),
        ("WATCH_REFRESH_INTERVAL_S", "1".to_string()),
        ("LOG_LEVEL", "WARNING".to_string()),
        (
            "CERTSENTRY_CERTWATCH_RETRY_DELAYS",
            "0.05,0.1,0.2".to_string(),
        ),
        ("CERTSENTRY_CERTWATCH_SWEEP_S", "0.3".to_string()),
    ];
    let process = start(&env);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    // Both matched alerts delivered (the failing one after the sweep).
    wait_for("two delivered alerts", async || {
        let delivered: i64 =
            sqlx::query_scalar("SELECT count(*) FROM public.alerts WHERE delivered")
                .fetch_one(&mut db)
                .await
                .unwrap();
        delivered == 2
    })
    .await;
    let received = receiver.requests();
    let delivered: Vec<Value> = received[6..]
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let mut rx_lines = Vec::new();
    for body in &delivered {
        // What the seed's harness prints for an unauthorized certificate.
        if body["severity"] == "suspicious" {
            rx_lines.push(format!("WEBHOOK RX: {body}"));
        }
    }
    println!("{}", rx_lines.join("\n"));
    assert_eq!(rx_lines.len(), 1, "{rx_lines:?}");
    let suspicious = delivered
        .iter()
        .find(|b| b["severity"] == "suspicious")
        .unwrap();
    assert_eq!(suspicious["matched_entries"], json!(["ethereum.org"]));
    assert_eq!(suspicious["matched_sans"], json!(["foo.ethereum.org"]));
    assert_eq!(
        suspicious["all_sans"],
        json!(["bar.example.com", "foo.ethereum.org"])
    );
    assert_eq!(suspicious["issuer_o"], "Google Trust Services");
    assert_eq!(suspicious["update_type"], "PrecertLogEntry");
    assert_eq!(suspicious["source_log"], "Google 'Argon2026h2' log");
    assert_eq!(suspicious["lifetime_days"], 90.0);
    let info: Vec<&Value> = delivered
        .iter()
        .filter(|b| b["severity"] == "info")
        .collect();
    assert_eq!(info.len(), 1, "the known certificate: one info heartbeat");
    assert_eq!(info[0]["matched_sans"], json!(["www.ethereum.org"]));
    assert_eq!(delivered.len(), 2, "nothing for the unwatched certificate");
    // Field for field, in certwatch's order (also after the sweep read it back from jsonb).
    for body in &delivered {
        let fields: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(fields, certsentry_notify::format::certwatch::FIELDS);
    }

    // The table: two rows, each delivered by the sweep after a failed round of three.
    let rows: Vec<(String, bool, i32, Option<String>)> = sqlx::query_as(
        "SELECT severity, delivered, attempts, last_error FROM public.alerts ORDER BY severity",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            ("info".to_string(), true, 4, None),
            ("suspicious".to_string(), true, 4, None)
        ]
    );
    assert_eq!(received.len(), 8, "every attempt reached the receiver");

    // /healthz and /metrics as certwatch serves them.
    let health = get_json(&client, format!("{base}/healthz"), None).await;
    let keys: Vec<&String> = health.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["ok", "watch_entries", "last_ct_event_at"]);
    assert_eq!(
        (health["ok"].clone(), health["watch_entries"].clone()),
        (json!(true), json!(1))
    );
    assert!(health["last_ct_event_at"].as_f64().unwrap() > 1.7e9);
    let metrics = get_text(&client, format!("{base}/metrics")).await;
    for series in [
        "certwatch_ct_messages_total{type=\"certificate_update\"} 5",
        "certwatch_ct_messages_total{type=\"heartbeat\"} 1",
        "certwatch_alerts_total{severity=\"suspicious\"} 1",
        "certwatch_alerts_total{severity=\"info\"} 1",
        "certwatch_webhook_total{result=\"failure\"} 6",
        "certwatch_webhook_total{result=\"success\"} 2",
        "certwatch_webhook_duration_seconds_count 8",
        "certwatch_watch_entries 1",
        "certwatch_ws_connected 1",
        "certwatch_dedupe_cache_size 2",
        "certsentry_ct_malformed_entries_total{source=\"certstream\",kind=\"certstream\"} 1",
    ] {
        assert!(metrics.contains(series), "no {series} in\n{metrics}");
    }
    assert!(metrics.contains("certwatch_last_ct_event_timestamp_seconds "));
    assert!(metrics.trim_end().ends_with("# EOF"));

    // kill -9 and start again: the feed replays everything, nothing is alerted twice.
    drop(process);
    let process = start(&env);
    wait_for("the restarted service to read the feed", async || {
        let Ok(response) = client.get(format!("{base}/metrics")).send().await else {
            return false;
        };
        let text = response.text().await.unwrap_or_default();
        // Every message read, and both issuances matched and deduplicated
        // again: past the last entry, so a repeat would already be written.
        text.contains("certwatch_ct_messages_total{type=\"certificate_update\"} 5")
            && text.contains("certwatch_dedupe_cache_size 2")
    })
    .await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM public.alerts")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(count, 2, "no new rows after the restart");
    assert_eq!(
        receiver.len(),
        received.len(),
        "no new webhooks after the restart"
    );
    drop(process);
}
