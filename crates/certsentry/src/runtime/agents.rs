//! Which regions probe agents serve, kept current for the checker: a
//! region is theirs once one of its live tokens has called the server, and
//! the server's own runs then leave its uptime and TCP checks out.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use certsentry_engine::Checker;
use certsentry_store::Store;

/// How often the set is re-read: an agent that connects takes its region
/// over within this long.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);

pub async fn agent_regions(store: &dyn Store) -> certsentry_store::StoreResult<HashSet<String>> {
    Ok(store
        .list_agent_tokens()
        .await?
        .into_iter()
        .filter(|t| t.revoked_at.is_none() && t.last_seen_at.is_some())
        .map(|t| t.region)
        .collect())
}

pub async fn follow_agent_regions_forever(store: Arc<dyn Store>, checker: Arc<Checker>) {
    let mut known: Option<HashSet<String>> = None;
    loop {
        match agent_regions(&*store).await {
            Ok(regions) if known.as_ref() != Some(&regions) => {
                tracing::info!(regions = ?regions, "regions served by probe agents");
                checker.set_agent_regions(regions.clone());
                known = Some(regions);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not read the agent tokens"),
        }
        tokio::time::sleep(REFRESH_EVERY).await;
    }
}
