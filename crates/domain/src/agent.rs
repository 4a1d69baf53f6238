//! Probe agents: processes that run a region's checks where they stand and
//! report to the server (`certsentry agent`). An agent proves itself with
//! a token scoped to one region, stored only as its SHA-256 like an API
//! key; it holds the region's jobs under leases and renews them while it
//! works; and its results may arrive late, from an offline buffer.
//!
//! The rules here are the pure part: tokens, how long a lease lasts, when a
//! result is too old to move the outage rule, and when a region is silent.

use crate::apikey::{HINT_LEN, generate_with_prefix, hash_key, is_well_formed_with_prefix};
use crate::id::AgentTokenId;
use crate::monitor::{MonitorKind, MonitorSpec};
use crate::time::Millis;

/// Agent tokens start with this, so that one is never mistaken for an API
/// key (and the API refuses it with 401).
pub const AGENT_TOKEN_PREFIX: &str = "cst_";

/// A stored agent token; `hash` is the only trace of the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentToken {
    pub id: AgentTokenId,
    pub region: String,
    pub name: String,
    pub hash: String,
    /// The first characters of the token (`cst_AbCd`).
    pub hint: String,
    pub created_at: Millis,
    /// When an agent last called the server with it.
    pub last_seen_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

/// A new token for `region` and its plaintext, shown once.
pub fn new_agent_token(region: &str, name: &str) -> (AgentToken, String) {
    let generated = generate_with_prefix(AGENT_TOKEN_PREFIX);
    let token = AgentToken {
        id: AgentTokenId::generate(),
        region: region.to_string(),
        name: name.to_string(),
        hint: generated.plaintext[..HINT_LEN].into(),
        hash: generated.hash,
        created_at: crate::time::now_ms(),
        last_seen_at: None,
        revoked_at: None,
    };
    (token, generated.plaintext)
}

/// Whether a bearer token could be an agent token (checked before hashing).
pub fn is_agent_token(token: &str) -> bool {
    is_well_formed_with_prefix(token, AGENT_TOKEN_PREFIX)
}

/// The hash an agent token is looked up by.
pub fn hash_agent_token(token: &str) -> String {
    hash_key(token)
}

/// How long a job is held without renewal. An agent renews all of its
/// leases at every poll (at least every 25 seconds), so a lease outlives
/// two missed polls; when the holder dies, another agent of the region
/// takes the job after at most this long. It does not grow with the
/// check's interval: renewal follows the polls, not the checks, and a
/// daily check should not wait two days for a new holder.
pub const MIN_LEASE_MS: Millis = 60_000;

/// How long a job another agent let go (its fair share shrank when an
/// agent joined the region) waits before anyone may claim it. The agent
/// that lets it go learns so in the answer to its own poll, and stops
/// checking it when it reads that answer; a newcomer polling at the same
/// moment would otherwise start on it at once, and while the first agent's
/// answer is still on its way (or the agent is starved of CPU), both would
/// check the monitor in the same slot. A check or two missed during a
/// hand-over is the cheaper mistake than two agents checking one monitor.
pub const RELEASE_GRACE_MS: Millis = 5_000;

/// The lease of a job whose check runs every `interval_seconds`: today
/// [`MIN_LEASE_MS`] for every interval (stored per job, so it may differ).
pub fn lease_ms(_interval_seconds: u32) -> Millis {
    MIN_LEASE_MS
}

/// A result checked more than two intervals ago (an agent's buffer after
/// an outage, a retried upload) is kept for history but no longer moves
/// the outage rule: the alert it could raise would already be stale.
pub fn result_is_stale(checked_at: Millis, now: Millis, interval_seconds: u32) -> bool {
    now - checked_at > Millis::from(interval_seconds.max(1)) * 2_000
}

/// How long every agent of a region may stay silent before the region is
/// unavailable: three of its long polls (20 s each), the lease's length.
pub const SILENT_AFTER_MS: Millis = MIN_LEASE_MS;

/// The alert state of a region's availability: stored under this key
/// with [`region_subject`] as its monitor id.
pub const REGION_STATE_KEY: &str = "region";

/// The id a region's events and state are kept under (no monitor has it).
pub fn region_subject(region: &str) -> String {
    format!("region:{region}")
}

/// `region.unavailable` (every agent of `region` silent since
/// `last_seen`) or `region.available`, for one organization that checks
/// from the region. The payload's monitor is the region.
pub fn region_event(
    org: &crate::OrgId,
    region: &str,
    available: bool,
    last_seen: Option<Millis>,
    now: Millis,
) -> crate::alert::Event {
    use crate::alert::{Event, EventMonitor, EventSubject, EventType, Severity};
    let (event_type, severity, status) = if available {
        (EventType::RegionAvailable, Severity::Resolved, "available")
    } else {
        (
            EventType::RegionUnavailable,
            Severity::Warning,
            "unavailable",
        )
    };
    Event {
        id: crate::EventId::generate(),
        org_id: org.clone(),
        monitor_id: None,
        environment_id: None,
        event_type,
        severity,
        status: status.into(),
        monitor: Some(EventMonitor {
            id: region_subject(region),
            label: format!("Region {region}"),
            target: None,
        }),
        details: serde_json::json!({
            "Region": region,
            "Agents last seen": last_seen.map(crate::time::format_ms),
            "Monitors": "checks from this region pause; they are not marked down",
        }),
        subject: EventSubject::Monitor,
        created_at: now,
    }
}

/// Whether a region whose agents were last seen at `last_seen` is silent.
pub fn region_silent(last_seen: Option<Millis>, now: Millis) -> bool {
    last_seen.is_none_or(|at| now - at > SILENT_AFTER_MS)
}

/// The job row of a monitor's server-side work (its SSL, DNS and domain
/// checks, and the regions no agent serves): several `serve` nodes on one
/// database claim these as agents claim regions, so each monitor is run by
/// one node at a time.
pub const SERVER_JOBS: &str = "*server";

/// A server node's lease on a monitor. Longer than an agent's: a node
/// renews only leases past their half, so that 100,000 monitors cost a few
/// hundred row updates a second, not thousands.
pub const SERVER_LEASE_MS: Millis = 120_000;

/// Whether the server nodes have anything to run for a monitor on a
/// schedule (heartbeat monitors are passive).
pub fn server_runs(spec: &MonitorSpec) -> bool {
    spec.enabled && spec.kind != MonitorKind::Heartbeat && spec.uptime_interval_seconds.is_some()
}

/// What an agent runs of a monitor: its uptime (or TCP) check, in each of
/// its regions, every `interval_seconds`. `None` for a monitor with no such
/// check (heartbeats, disabled monitors, SSL- or DNS-only monitors), whose
/// remaining checks the server runs itself.
pub fn agent_check(spec: &MonitorSpec) -> Option<(u32, &[String])> {
    let runs = spec.enabled
        && spec.target.is_some()
        && match spec.kind {
            MonitorKind::Standard => spec.check_uptime,
            MonitorKind::Tcp => spec.tcp_port.is_some(),
            MonitorKind::Heartbeat => false,
        };
    runs.then(|| {
        (
            spec.uptime_interval_seconds.unwrap_or(300),
            spec.regions.as_slice(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_scoped_hashed_and_told_apart_from_api_keys() {
        let (token, plaintext) = new_agent_token("dublin", "dublin-1");
        assert!(is_agent_token(&plaintext));
        assert!(!crate::apikey::is_well_formed(&plaintext), "not an API key");
        assert_eq!(token.hash, hash_agent_token(&plaintext));
        assert_eq!(token.region, "dublin");
        assert!(plaintext.starts_with(&token.hint));
        assert!(!is_agent_token("cst_short"));
    }

    #[test]
    fn agents_run_uptime_and_tcp_checks_only() {
        let regions = vec!["dublin".to_string(), "virginia".to_string()];
        let mut spec = MonitorSpec::standard("web", "acme.example", regions.clone());
        assert_eq!(agent_check(&spec), Some((300, regions.as_slice())));
        spec.check_uptime = false;
        assert_eq!(
            agent_check(&spec),
            None,
            "SSL and domain checks stay on the server"
        );
        spec.check_uptime = true;
        spec.enabled = false;
        assert_eq!(agent_check(&spec), None);
    }

    #[test]
    fn leases_and_staleness_follow_the_interval() {
        assert_eq!(lease_ms(60), MIN_LEASE_MS);
        assert_eq!(
            lease_ms(86_400),
            MIN_LEASE_MS,
            "renewed by polls, not checks"
        );
        assert!(!result_is_stale(1_000_000, 1_100_000, 60));
        assert!(result_is_stale(1_000_000, 1_121_000, 60));
        assert!(region_silent(None, 0));
        assert!(!region_silent(Some(1_000), 1_000 + SILENT_AFTER_MS));
        assert!(region_silent(Some(1_000), 1_001 + SILENT_AFTER_MS));
        let down = region_event(&crate::OrgId::generate(), "dublin", false, Some(5), 10);
        assert_eq!(down.event_type.as_str(), "region.unavailable");
        assert_eq!(down.severity.as_str(), "warning");
        assert_eq!(down.monitor.unwrap().id, "region:dublin");
    }
}
