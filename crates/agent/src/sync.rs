//! The jobs the agent holds, kept in step with the server by a long poll.
//!
//! Every answer renews the agent's leases; while the server cannot be
//! reached the agent keeps the jobs it has (its leases may run out, and
//! another agent of the region may take them: the next answer says so).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use certsentry_domain::monitor::{Monitor, MonitorStatus};
use certsentry_domain::{MonitorId, OrgId};

use crate::connection::{Connection, failure_text};
use crate::protocol::{Job, JobsRequest, JobsResponse, KnownJob, MAX_WAIT_SECONDS, jobs_path};

/// The held jobs by monitor id, each as the monitor the scheduler runs.
#[derive(Default)]
pub struct Held {
    jobs: RwLock<HashMap<String, Monitor>>,
}

/// A job as a monitor: the agent knows its definition, not its
/// organization or state, and needs neither to run its check.
fn monitor_of(job: Job) -> Monitor {
    Monitor {
        id: MonitorId::from_string(job.monitor_id),
        org_id: OrgId::from_string(String::new()),
        spec: job.spec,
        heartbeat_token: None,
        last_status: MonitorStatus::Unknown,
        ssl_not_after: None,
        domain_expiry: None,
        created_at: job.version,
        updated_at: job.version,
    }
}

impl Held {
    /// The monitors to run now.
    pub fn monitors(&self) -> Vec<Monitor> {
        self.jobs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.jobs.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn known(&self) -> Vec<KnownJob> {
        self.jobs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|m| KnownJob {
                monitor_id: m.id.to_string(),
                version: m.updated_at,
            })
            .collect()
    }

    /// Takes the server's answer: new and changed jobs in, dropped ones out.
    pub fn apply(&self, answer: JobsResponse) {
        let mut jobs = self.jobs.write().unwrap_or_else(|p| p.into_inner());
        jobs.retain(|id, _| answer.held.iter().any(|held| held == id));
        for job in answer.jobs {
            jobs.insert(job.monitor_id.clone(), monitor_of(job));
        }
    }
}

/// Long-polls the server for the region's jobs until the task is dropped.
pub async fn keep_in_step(connection: Arc<Connection>, held: Arc<Held>, capacity: u32) {
    let mut backoff = Duration::from_secs(1);
    let mut failing_since: Option<std::time::Instant> = None;
    loop {
        let request = JobsRequest {
            capacity: Some(capacity),
            known: held.known(),
            wait_seconds: MAX_WAIT_SECONDS - 5,
        };
        let answer = connection
            .post::<_, JobsResponse>(&jobs_path(&connection.region), &request)
            .await;
        match answer {
            Ok(answer) => {
                if failing_since.take().is_some() {
                    tracing::info!("the server answers again");
                }
                held.apply(answer);
                backoff = Duration::from_secs(1);
            }
            Err(e) => {
                if failing_since.is_none() {
                    tracing::warn!(error = %failure_text(&e), "cannot reach the server for jobs; checking on with the jobs held");
                    failing_since = Some(std::time::Instant::now());
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}
