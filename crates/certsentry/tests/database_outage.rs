//! With PostgreSQL cut off, the server answers fast and honestly, and
//! recovers by itself. A TCP proxy sits between the runtime and the
//! database; the test drops every connection through it (and refuses new
//! ones), then lets them through again.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use certsentry_probes::testing::WebhookReceiver;
use common::{Harness, seed_heartbeat};
use reqwest::Method;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A loopback TCP proxy that can cut every connection and refuse new ones.
struct CuttableProxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    /// Bumped on every cut; each relayed connection ends when it changes.
    cuts: watch::Sender<u64>,
}

impl CuttableProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let (cuts, _) = watch::channel(0u64);
        let (refusing, subscribe) = (cut.clone(), cuts.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if refusing.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut ended = subscribe.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = ended.changed() => {}
                    }
                });
            }
        });
        Self { addr, cut, cuts }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_gets_fast_503s_and_recovery_without_restart() {
    let Some(url) = certsentry_store_postgres::testing::fresh_database().await else {
        return;
    };
    let mut through_proxy = url::Url::parse(&url).unwrap();
    let upstream: SocketAddr = format!(
        "{}:{}",
        through_proxy.host_str().unwrap(),
        through_proxy.port().unwrap_or(5432)
    )
    .parse()
    .unwrap();
    let proxy = CuttableProxy::start(upstream).await;
    through_proxy.set_port(Some(proxy.addr.port())).unwrap();
    let store = certsentry_store_postgres::PostgresBackend::connect(through_proxy.as_str())
        .await
        .unwrap();
    let h = Harness::start("postgres", Arc::new(store), "agency", |_| {}).await;
    let created = h.post("monitors", seed_heartbeat()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let token = created.body["monitor"]["heartbeatToken"]
        .as_str()
        .unwrap()
        .to_string();
    let ping = format!("/api/ping/{token}");
    assert_eq!(
        h.request_with(Method::GET, &ping, None, None).await.status,
        200
    );
    let receiver = WebhookReceiver::start(Vec::new(), Duration::ZERO).await;
    let channel = h
        .post(
            "notification-channels",
            serde_json::json!({"name": "ops", "type": "webhook", "url": receiver.url}),
        )
        .await;
    assert_eq!(channel.status, 201, "{}", channel.body);
    let channel_id = channel.body["channel"]["id"].as_str().unwrap().to_string();

    proxy.cut();

    let started = Instant::now();
    let health = h.request_with(Method::GET, "/healthz", None, None).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(health.status, 503);
    assert_eq!(health.body["ok"], false);
    assert_eq!(health.body["unavailable"][0]["dependency"], "database");

    for (what, path, key) in [
        ("a ping", ping.as_str(), None),
        ("an API read", "monitors", Some(h.key.as_str())),
    ] {
        // Past the key cache's second, so the API read needs the database too.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let started = Instant::now();
        let reply = h.request_with(Method::GET, path, key, None).await;
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "{what} took {took:?}");
        assert_eq!(reply.status, 503, "{what}: {}", reply.body);
        assert_eq!(reply.code(), "unavailable", "{what}");
        assert_eq!(
            reply.headers.get("retry-after").unwrap(),
            "5",
            "{what} says when to retry"
        );
    }

    proxy.restore();
    // The pool reconnects on its own: no restart.
    let mut recovered = false;
    for _ in 0..50 {
        if h.request_with(Method::GET, &ping, None, None).await.status == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        recovered,
        "pings are stored again once the database is back"
    );
    assert_eq!(h.get("monitors").await.status, 200);
    // The outbox kept polling through the outage and sends again.
    let test = h
        .post(
            &format!("notification-channels/{channel_id}/test"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(test.status, 202, "{}", test.body);
    for _ in 0..100 {
        if !receiver.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(receiver.len(), 1, "the outbox resumed after the outage");
    let health = h.request_with(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, 200);
    assert!(health.body.get("unavailable").is_none());
    // Exactly the acknowledged pings were stored: the one before the cut
    // and the one that answered 200 after it.
    let id = created.body["monitor"]["id"].as_str().unwrap();
    let results = h
        .get(&format!("monitors/{id}/results?type=heartbeat"))
        .await;
    assert_eq!(
        results.body["results"].as_array().unwrap().len(),
        2,
        "{}",
        results.body
    );
}
