//! `/agent/v1`: the JSON the agent and the server speak. Versioned in the
//! path; a change that an older agent could not read is a new version.
//!
//! - `POST /agent/v1/regions/{region}/jobs` with [`JobsRequest`]: the
//!   server renews the agent's leases, claims more of the region's jobs up
//!   to `capacity`, and answers [`JobsResponse`] at once when something
//!   changed, or after `waitSeconds` (a long poll) when nothing did.
//! - `POST /agent/v1/regions/{region}/results` with [`ResultsRequest`]:
//!   a batch of results, each with an idempotency key; a batch posted
//!   twice is stored once. Answered with [`ResultsResponse`].
//!
//! Both take `Authorization: Bearer cst_…`, a token scoped to the region
//! in the path (another region is 403; the token is no API key, so
//! `/api/v1` answers it 401).

use certsentry_domain::monitor::MonitorSpec;
use certsentry_probes::http::HttpObservation;
use certsentry_probes::tcp::TcpObservation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The protocol's path prefix.
pub const PREFIX: &str = "/agent/v1";

/// The longest long poll the server grants.
pub const MAX_WAIT_SECONDS: u32 = 25;

/// The most results one upload may carry.
pub const MAX_BATCH: usize = 1000;

pub fn jobs_path(region: &str) -> String {
    format!("{PREFIX}/regions/{region}/jobs")
}

pub fn results_path(region: &str) -> String {
    format!("{PREFIX}/regions/{region}/results")
}

/// A job the agent already has, and the version it has of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KnownJob {
    pub monitor_id: String,
    pub version: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobsRequest {
    /// How many more jobs the agent takes (1 to 10,000; default 1,000).
    #[serde(default)]
    pub capacity: Option<u32>,
    /// The jobs the agent holds, so that only new and changed ones come back.
    #[serde(default)]
    pub known: Vec<KnownJob>,
    /// How long the server may hold the answer when nothing changed
    /// (0 to 25 seconds).
    #[serde(default)]
    pub wait_seconds: u32,
}

/// One monitor's check in the region: its definition and version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub monitor_id: String,
    /// Changes whenever the monitor is edited.
    pub version: i64,
    /// The monitor's definition (the agent runs its uptime or TCP check).
    #[schema(value_type = Object)]
    pub spec: MonitorSpec,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobsResponse {
    pub region: String,
    /// Every job the agent now holds; a known job missing here is dropped
    /// (the monitor was deleted, left the region, or went to another agent).
    pub held: Vec<String>,
    /// The held jobs the agent does not know at their current version.
    pub jobs: Vec<Job>,
    /// How long a lease lasts without renewal, at least (seconds).
    pub lease_seconds: u32,
}

/// What one check saw: `"kind": "uptime"` with the HTTP check's
/// observation, or `"kind": "tcp"` with the TCP check's and its `port`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "observation", rename_all = "lowercase")]
pub enum Observation {
    /// An uptime (HTTP) check.
    Uptime(HttpObservation),
    /// A TCP check.
    Tcp(TcpSeen),
}

/// A TCP check's observation and the port it dialled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpSeen {
    pub port: u16,
    #[serde(flatten)]
    pub seen: TcpObservation,
}

/// One result: which monitor, when, what was seen, and its idempotency key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    /// Unique per result; a result posted again with it is stored once.
    pub key: String,
    pub monitor_id: String,
    /// When the check ran, in Unix milliseconds.
    pub checked_at: i64,
    /// `kind` (`uptime` or `tcp`) and `observation`, what the check saw.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub observation: Observation,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultsRequest {
    /// At most 1,000.
    pub results: Vec<Upload>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultsResponse {
    /// Stored now.
    pub stored: usize,
    /// Stored by an earlier upload of the same key.
    pub duplicates: usize,
    /// For monitors that are no longer jobs of the region (deleted or
    /// moved): nothing to store them under.
    pub ignored: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_reads_back_as_written() {
        let upload = Upload {
            key: "k1".into(),
            monitor_id: "c123".into(),
            checked_at: 1_700_000_000_000,
            observation: Observation::Tcp(TcpSeen {
                port: 443,
                seen: TcpObservation {
                    ok: false,
                    latency_ms: 12,
                    error: Some("connection refused".into()),
                    phases: Default::default(),
                },
            }),
        };
        let json = serde_json::to_value(&upload).unwrap();
        assert_eq!(json["kind"], "tcp");
        assert_eq!(json["observation"]["port"], 443);
        assert_eq!(json["observation"]["error"], "connection refused");
        let back: Upload = serde_json::from_value(json).unwrap();
        assert_eq!(back, upload);
    }
}
