//! The certstream feed against a websocket server on loopback: entries are
//! handed on, heartbeats ignored, malformed messages counted and skipped,
//! pings sent, and a dropped stream reconnected.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use certsentry_ct::certstream_client::{CertstreamConfig, CertstreamStats, run};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

fn entry(name: &str) -> String {
    format!(
        r#"{{"message_type":"certificate_update","data":{{"update_type":"X509LogEntry","leaf_cert":{{"all_domains":["{name}"],"not_before":1767225600,"not_after":1775001600}},"cert_index":1,"seen":1767225601.0,"source":{{"name":"Test Log","url":"https://log.example/"}}}}}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_skips_junk_pings_and_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/full-stream", listener.local_addr().unwrap());
    let pings = Arc::new(AtomicUsize::new(0));
    let seen_pings = pings.clone();
    tokio::spawn(async move {
        for connection in 0.. {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            if connection == 0 {
                ws.send(Message::text(
                    r#"{"message_type":"heartbeat","timestamp":1}"#,
                ))
                .await
                .unwrap();
                ws.send(Message::text("{not json")).await.unwrap();
                ws.send(Message::text(entry("Shop.Example.ORG")))
                    .await
                    .unwrap();
                // Stay long enough to be pinged, then drop the connection.
                let deadline = tokio::time::Instant::now() + Duration::from_millis(400);
                while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, ws.next()).await {
                    if frame.is_ping() {
                        seen_pings.fetch_add(1, Ordering::Relaxed);
                    }
                }
                drop(ws);
            } else {
                ws.send(Message::text(entry("api.example.net")))
                    .await
                    .unwrap();
                while let Some(Ok(_)) = ws.next().await {}
            }
        }
    });

    let mut config = CertstreamConfig::new(url);
    config.ping_every = Duration::from_millis(100);
    let tls = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth(),
    );
    let stats = Arc::new(CertstreamStats::default());
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let feed = tokio::spawn(run(config, tls, stats.clone(), tx));

    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.dns_names, vec!["shop.example.org"]);
    assert_eq!(first.source_name.as_deref(), Some("Test Log"));
    let second = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.dns_names, vec!["api.example.net"]);

    assert_eq!(stats.entries.load(Ordering::Relaxed), 2);
    assert_eq!(stats.malformed.load(Ordering::Relaxed), 1);
    assert!(stats.reconnects.load(Ordering::Relaxed) >= 1);
    assert!(pings.load(Ordering::Relaxed) >= 1, "no websocket ping seen");
    assert!(stats.last_entry_at.load(Ordering::Relaxed) > 0);

    // The feed stops when its consumer goes away.
    drop(rx);
    tokio::time::timeout(Duration::from_secs(10), feed)
        .await
        .expect("the feed stops once nobody reads it")
        .unwrap();
}
