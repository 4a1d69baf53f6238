//! Probe agents: their tokens, the region jobs they hold under leases, and
//! the results they upload (stored once per idempotency key).
//!
//! A job is one monitor's uptime (or TCP) check in one region. The rows
//! are kept in step with the monitors by every monitor write, in the same
//! transaction, so a claim never has to search the monitors.

use async_trait::async_trait;
use certsentry_domain::AgentTokenId;
use certsentry_domain::agent::AgentToken;
use certsentry_domain::check::CheckResult;
use certsentry_domain::monitor::Monitor;
use certsentry_domain::time::Millis;

use crate::{Forward, StoreResult};

/// A request for work: renew every job `holder` holds in `region` (a
/// restarted agent gets its own jobs back at once), and claim up to
/// `capacity` more of the region's jobs whose lease has run out.
#[derive(Debug, Clone)]
pub struct JobClaim<'a> {
    pub region: &'a str,
    /// The agent token's id.
    pub holder: &'a str,
    pub now: Millis,
    /// How many more jobs the holder takes at most.
    pub capacity: u32,
    /// How many holders share the region now (this one included): each
    /// holds at most its fair share, `ceil(jobs / sharers)`, and a holder
    /// above it lets the excess go, so agents that join take their part.
    pub sharers: u32,
}

/// The holder's jobs after a claim: every monitor it now holds in the
/// region (renewed and new), with its current definition.
#[derive(Debug, Clone, Default)]
pub struct HeldJobs {
    pub jobs: Vec<Monitor>,
    /// How many of them were newly claimed.
    pub claimed: usize,
}

/// A `serve` process sharing the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerNode {
    pub id: String,
    pub started_at: Millis,
    pub last_seen_at: Millis,
}

/// One uploaded result and its idempotency key.
#[derive(Debug, Clone)]
pub struct KeyedResult {
    pub key: String,
    pub result: CheckResult,
}

#[async_trait]
pub trait AgentStore: Send + Sync {
    async fn create_agent_token(&self, token: &AgentToken) -> StoreResult<()>;
    async fn list_agent_tokens(&self) -> StoreResult<Vec<AgentToken>>;
    /// The live (unrevoked) token with this hash.
    async fn find_agent_token(&self, hash: &str) -> StoreResult<Option<AgentToken>>;
    /// `NotFound` for an unknown id; revoking twice keeps the first time.
    async fn revoke_agent_token(&self, id: &AgentTokenId, at: Millis) -> StoreResult<AgentToken>;
    /// Marks the token seen (at most once a second matters).
    async fn touch_agent_token(&self, id: &AgentTokenId, at: Millis) -> StoreResult<()>;
    /// Renews the holder's jobs and claims more, in one transaction. A job
    /// is held by one holder at a time: on Postgres the candidates are
    /// locked with `FOR UPDATE SKIP LOCKED`, and SQLite's single writer
    /// gives the same. A job is claimable when its lease ran out.
    async fn claim_jobs(&self, claim: &JobClaim<'_>) -> StoreResult<HeldJobs>;
    /// The organizations with a monitor that checks from `region`: those a
    /// region's events are for.
    async fn region_orgs(&self, region: &str) -> StoreResult<Vec<certsentry_domain::OrgId>>;
    /// A value that changes whenever any monitor is created, changed or
    /// deleted (their count and latest change): what a node polls to see
    /// another node's monitor writes within a second.
    async fn monitors_version(&self) -> StoreResult<String>;
    /// Marks a server node alive (registering it on its first call).
    async fn touch_server_node(&self, node: &ServerNode) -> StoreResult<()>;
    /// Every server node that ever registered, most recently seen first.
    async fn list_server_nodes(&self) -> StoreResult<Vec<ServerNode>>;
    /// How many unexpired jobs each holder holds at `now`.
    async fn held_job_counts(&self, now: Millis) -> StoreResult<Vec<(String, u64)>>;
    /// Takes or renews the leadership `name` for `holder` until `now +
    /// lease_ms`, if it is free, expired or already `holder`'s: the epoch
    /// of the term (it grows whenever the holder changes), or `None`
    /// when another holds it. A leader that renews and gets another epoch,
    /// or none, has lost it and must stop.
    async fn lead(
        &self,
        name: &str,
        holder: &str,
        now: Millis,
        lease_ms: Millis,
    ) -> StoreResult<Option<i64>>;
    /// The monitors among `ids` that are jobs of `region` now: an upload
    /// is stored only under a monitor its region still checks.
    async fn region_job_monitors(&self, region: &str, ids: &[String]) -> StoreResult<Vec<Monitor>>;
    /// Stores uploaded results whose key is new, with their daily rollups;
    /// returns, per result, whether it was new. Keys older than `forget_before`
    /// are dropped on the way (a key only guards against a retried upload).
    async fn record_keyed_results(
        &self,
        results: &[KeyedResult],
        forget_before: Millis,
    ) -> StoreResult<Vec<bool>>;
}

/// A store layer (the monitor cache) hands agents' calls to the store it wraps.
#[async_trait]
impl<F: Forward> AgentStore for F {
    async fn create_agent_token(&self, token: &AgentToken) -> StoreResult<()> {
        self.inner().create_agent_token(token).await
    }
    async fn list_agent_tokens(&self) -> StoreResult<Vec<AgentToken>> {
        self.inner().list_agent_tokens().await
    }
    async fn find_agent_token(&self, hash: &str) -> StoreResult<Option<AgentToken>> {
        self.inner().find_agent_token(hash).await
    }
    async fn revoke_agent_token(&self, id: &AgentTokenId, at: Millis) -> StoreResult<AgentToken> {
        self.inner().revoke_agent_token(id, at).await
    }
    async fn touch_agent_token(&self, id: &AgentTokenId, at: Millis) -> StoreResult<()> {
        self.inner().touch_agent_token(id, at).await
    }
    async fn claim_jobs(&self, claim: &JobClaim<'_>) -> StoreResult<HeldJobs> {
        self.inner().claim_jobs(claim).await
    }
    async fn region_orgs(&self, region: &str) -> StoreResult<Vec<certsentry_domain::OrgId>> {
        self.inner().region_orgs(region).await
    }
    async fn monitors_version(&self) -> StoreResult<String> {
        self.inner().monitors_version().await
    }
    async fn touch_server_node(&self, node: &ServerNode) -> StoreResult<()> {
        self.inner().touch_server_node(node).await
    }
    async fn list_server_nodes(&self) -> StoreResult<Vec<ServerNode>> {
        self.inner().list_server_nodes().await
    }
    async fn held_job_counts(&self, now: Millis) -> StoreResult<Vec<(String, u64)>> {
        self.inner().held_job_counts(now).await
    }
    async fn lead(
        &self,
        name: &str,
        holder: &str,
        now: Millis,
        lease_ms: Millis,
    ) -> StoreResult<Option<i64>> {
        self.inner().lead(name, holder, now, lease_ms).await
    }
    async fn region_job_monitors(&self, region: &str, ids: &[String]) -> StoreResult<Vec<Monitor>> {
        self.inner().region_job_monitors(region, ids).await
    }
    async fn record_keyed_results(
        &self,
        results: &[KeyedResult],
        forget_before: Millis,
    ) -> StoreResult<Vec<bool>> {
        self.inner()
            .record_keyed_results(results, forget_before)
            .await
    }
}
