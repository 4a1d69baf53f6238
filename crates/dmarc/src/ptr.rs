//! Reverse DNS names for DMARC sources, looked up in the background so
//! that report ingestion never waits on DNS. Each IP is asked once and the
//! answer, a missing name included, is kept for a week; at most 64
//! lookups are in flight.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use certsentry_domain::time::now_ms;
use certsentry_probes::dns::TokioResolver;
use certsentry_store::Store;
use tokio::task::JoinSet;

/// How long an answer is kept.
pub const PTR_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// Lookups in flight at once.
pub const MAX_IN_FLIGHT: usize = 64;
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The IP's reverse name without its trailing dot, or `None`.
pub async fn reverse_name(resolver: &TokioResolver, ip: IpAddr) -> Option<String> {
    let lookup = tokio::time::timeout(LOOKUP_TIMEOUT, resolver.reverse_lookup(ip))
        .await
        .ok()?
        .ok()?;
    lookup
        .answers()
        .iter()
        .find(|r| r.record_type() == certsentry_probes::dns::RecordType::PTR)
        .map(|r| {
            r.data
                .to_string()
                .trim_end_matches('.')
                .to_ascii_lowercase()
        })
}

/// Looks up the names of sources that have none (or a week-old one), a
/// batch every `every`, for ever.
pub async fn resolve_forever(store: Arc<dyn Store>, resolver: TokioResolver, every: Duration) {
    let resolver = Arc::new(resolver);
    loop {
        match resolve_due(&store, &resolver).await {
            Ok(0) => tokio::time::sleep(every).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "DMARC source PTR lookups failed; retrying later");
                tokio::time::sleep(every).await;
            }
        }
    }
}

/// One batch; returns how many IPs were looked up.
pub async fn resolve_due(
    store: &Arc<dyn Store>,
    resolver: &Arc<TokioResolver>,
) -> certsentry_store::StoreResult<usize> {
    let due = store
        .ips_needing_ptr(now_ms() - PTR_TTL_MS, 4 * MAX_IN_FLIGHT as u32)
        .await?;
    let count = due.len();
    let mut lookups = JoinSet::new();
    for ip in due {
        if lookups.len() >= MAX_IN_FLIGHT
            && let Some(done) = lookups.join_next().await
        {
            record(store, done).await?;
        }
        let resolver = resolver.clone();
        lookups.spawn(async move { (ip, reverse_name(&resolver, ip).await) });
    }
    while let Some(done) = lookups.join_next().await {
        record(store, done).await?;
    }
    Ok(count)
}

async fn record(
    store: &Arc<dyn Store>,
    done: Result<(IpAddr, Option<String>), tokio::task::JoinError>,
) -> certsentry_store::StoreResult<()> {
    if let Ok((ip, name)) = done {
        store.record_ptr(ip, name.as_deref(), now_ms()).await?;
    }
    Ok(())
}
