//! The certstream websocket feed: connects, pings at least every 30 s,
//! hands each certificate entry on, counts malformed messages (and skips
//! them), and reconnects with backoff whenever the stream drops.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::certstream::{Message, StreamEntry, parse_message};
use crate::source_stats::SourceStats;

#[derive(Debug, Clone)]
pub struct CertstreamConfig {
    /// `wss://…/full-stream`, or a lite stream.
    pub url: String,
    /// At most 30 s: servers drop quiet clients.
    pub ping_every: Duration,
    /// The longest wait between reconnects.
    pub backoff_max: Duration,
}

impl CertstreamConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ping_every: Duration::from_secs(20),
            backoff_max: Duration::from_secs(60),
        }
    }
}

/// The feed's health is a [`SourceStats`].
pub type CertstreamStats = SourceStats;

/// Runs the feed until `out` is closed.
pub async fn run(
    config: CertstreamConfig,
    tls: Arc<rustls::ClientConfig>,
    stats: Arc<CertstreamStats>,
    out: mpsc::Sender<StreamEntry>,
) {
    let mut backoff = Duration::from_millis(500);
    loop {
        let connector = tokio_tungstenite::Connector::Rustls(tls.clone());
        match tokio_tungstenite::connect_async_tls_with_config(
            config.url.as_str(),
            None,
            false,
            Some(connector),
        )
        .await
        {
            Ok((stream, _)) => {
                stats.connected.store(true, Ordering::Relaxed);
                backoff = Duration::from_millis(500);
                tracing::info!(url = %config.url, "certstream connected");
                let keep_going = read(stream, &config, &stats, &out).await;
                stats.connected.store(false, Ordering::Relaxed);
                if !keep_going {
                    return;
                }
            }
            Err(e) => tracing::warn!(url = %config.url, error = %e, "certstream connect failed"),
        }
        if out.is_closed() {
            return;
        }
        stats.reconnects.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(config.backoff_max);
    }
}

/// Reads one connection; `false` when the consumer is gone.
async fn read<S>(
    stream: tokio_tungstenite::WebSocketStream<S>,
    config: &CertstreamConfig,
    stats: &CertstreamStats,
    out: &mpsc::Sender<StreamEntry>,
) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut sink, mut source) = stream.split();
    let mut ping = tokio::time::interval(config.ping_every.min(Duration::from_secs(30)));
    ping.tick().await;
    loop {
        tokio::select! {
            _ = out.closed() => return false,
            _ = ping.tick() => {
                if sink.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                    return true;
                }
            }
            next = source.next() => {
                let text = match next {
                    Some(Ok(WsMessage::Text(text))) => text.to_string(),
                    Some(Ok(WsMessage::Binary(bytes))) => match String::from_utf8(bytes.to_vec()) {
                        Ok(text) => text,
                        Err(_) => {
                            stats.malformed.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    },
                    Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return true,
                    Some(Ok(_)) => continue, // ping/pong frames
                };
                match parse_message(&text) {
                    Ok(Message::Entry(entry)) => {
                        stats.entries.fetch_add(1, Ordering::Relaxed);
                        stats.last_entry_at.store(certsentry_domain::time::now_ms(), Ordering::Relaxed);
                        if out.send(*entry).await.is_err() {
                            return false;
                        }
                    }
                    Ok(Message::Heartbeat) => {
                        stats.heartbeats.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Message::Other(kind)) => {
                        *stats.other_messages.lock().expect("message counts").entry(kind).or_default() += 1;
                    }
                    Err(e) => {
                        stats.malformed.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(error = %e, "skipping a malformed certstream message");
                    }
                }
            }
        }
    }
}

/// TLS for `wss://` feeds: the ring provider and the webpki roots.
pub fn webpki_tls() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}
