//! One behavioural suite for every backend (the Gatus habit).
//!
//! Each case registers itself with [`register!`] right below its definition,
//! so a case that is written is a case that runs: cases are private, and one
//! left unregistered is dead code, which the lints refuse. A backend's test
//! calls [`run_all`] with a factory returning a fresh, empty store (or `None`
//! to skip: Postgres without `CERTSENTRY_TEST_DATABASE_URL`) and asserts how
//! many cases ran.

mod agents;
mod alerts;
mod audit;
mod ct;
mod dmarc;
mod monitors;
mod orgs;
mod people;
mod results;
mod status_notices;
mod status_pages;
mod tls;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use certsentry_domain::apikey::new_api_key;
use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::check::{CheckResult, CheckStatus, CheckType};
use certsentry_domain::monitor::{Monitor, MonitorKind, MonitorSpec, MonitorStatus};
use certsentry_domain::org::{Environment, Org};
use certsentry_domain::status_page::{StatusPage, StatusPageMonitor, StatusPageSpec};
use certsentry_domain::time::now_ms;
use certsentry_domain::{EnvironmentId, MonitorId, OrgId, ResultId, StatusPageId};
use serde_json::json;

use crate::{
    AuditQuery, HeartbeatState, MonitorCertificate, MonitorQuery, MonitorState, ResultQuery,
    ServedCertificate, Store, StoreError, StoreResult, SyncChanges,
};

/// A registered case: its name and how to run it on a store. Race cases
/// also get a second handle on the same database (another pool: another
/// node), so that "two nodes race" is two connections, not one handle.
pub struct Case {
    pub name: &'static str,
    run: fn(Arc<dyn Store>, Arc<dyn Store>) -> CaseFuture,
}

/// A fresh database as two handles: the store, and a second pool on it.
pub type StorePair = (Arc<dyn Store>, Arc<dyn Store>);

type CaseFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

inventory::collect!(Case);

/// Registers cases with the suite; `race:` cases take both handles.
macro_rules! register {
    (race: $case:ident) => {
        ::inventory::submit! {
            $crate::conformance::Case::new(stringify!($case), |store, twin| Box::pin($case(store, twin)))
        }
    };
    ($($case:ident),+ $(,)?) => {
        $(
            ::inventory::submit! {
                $crate::conformance::Case::new(stringify!($case), |store, _twin| Box::pin($case(store)))
            }
        )+
    };
}
use register;

impl Case {
    pub const fn new(
        name: &'static str,
        run: fn(Arc<dyn Store>, Arc<dyn Store>) -> CaseFuture,
    ) -> Self {
        Self { name, run }
    }
}

/// Every registered case, by name.
pub fn cases() -> Vec<&'static Case> {
    let mut all: Vec<&'static Case> = inventory::iter::<Case>.into_iter().collect();
    all.sort_by_key(|case| case.name);
    all
}

/// Runs every registered case, each on its own fresh database from
/// `fresh` (two handles on it), all at once. Returns how many ran, or
/// `None` when `fresh` has no store to give (the backend is not
/// configured). Panics naming every failed case.
pub async fn run_all<F, Fut>(backend: &str, fresh: F) -> Option<usize>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<StorePair>>,
{
    let cases = cases();
    let mut running = Vec::with_capacity(cases.len());
    for case in &cases {
        let (store, twin) = fresh().await?;
        running.push((case.name, tokio::spawn((case.run)(store, twin))));
    }
    let mut failed = Vec::new();
    for (name, handle) in running {
        if handle.await.is_err() {
            failed.push(name);
        }
    }
    println!(
        "conformance on {backend}: {} of {} cases passed",
        cases.len() - failed.len(),
        cases.len()
    );
    assert!(
        failed.is_empty(),
        "conformance cases failed on {backend}: {failed:?}"
    );
    Some(cases.len())
}

fn actor() -> Actor {
    Actor {
        id: "test".into(),
        name: "conformance".into(),
        email: None,
    }
}

fn audit(org: &OrgId, action: &str, target_type: &str, target: &str) -> AuditEvent {
    AuditEvent::new(
        org,
        &actor(),
        action,
        target_type,
        target,
        json!({"via": "conformance"}),
    )
}

/// Deletes a monitor as its owner's API call would, audit event included.
async fn delete_monitor(store: &dyn Store, org: &OrgId, monitor: &MonitorId) -> StoreResult<()> {
    store
        .delete_monitor(
            org,
            monitor,
            &audit(org, "monitor.delete", "monitor", monitor.as_str()),
        )
        .await
}

async fn new_org(store: &dyn Store, name: &str) -> Org {
    let org = Org {
        id: OrgId::generate(),
        name: name.into(),
        plan: "agency".into(),
        created_at: now_ms(),
    };
    store
        .create_org(
            &org,
            &audit(
                &org.id,
                "organization.create",
                "organization",
                org.id.as_str(),
            ),
        )
        .await
        .unwrap();
    org
}

fn spec(label: &str, kind: MonitorKind, external_id: Option<&str>) -> MonitorSpec {
    MonitorSpec {
        kind,
        external_id: external_id.map(Into::into),
        ..MonitorSpec::standard(label, "acme.example.com", vec!["virginia".into()])
    }
}

/// Fixtures for backend-specific tests.
pub mod conformance_support_impl {
    use super::*;

    /// A valid monitor of `kind` for `org`.
    pub fn monitor(org: &OrgId, kind: MonitorKind) -> Monitor {
        super::monitor(org, spec("fixture", kind, None))
    }

    /// A new organization in `store`.
    pub async fn org(store: &dyn Store, name: &str) -> Org {
        new_org(store, name).await
    }

    /// A new heartbeat monitor of `org` in `store`.
    pub async fn heartbeat_monitor(store: &dyn Store, org: &OrgId) -> Monitor {
        add_monitor(store, org, spec("cron", MonitorKind::Heartbeat, None)).await
    }

    /// A healthy ping of `m` at `at` that changes no state, as the writer
    /// queues it: what the ping journal takes.
    pub fn healthy_ping(m: &Monitor, at: i64) -> crate::CheckRecord {
        results::ping_record(m, at, true, None)
    }
}

fn monitor(org: &OrgId, spec: MonitorSpec) -> Monitor {
    Monitor {
        heartbeat_token: None,
        ..Monitor::new(org.clone(), spec)
    }
}

async fn add_monitor(store: &dyn Store, org: &OrgId, spec: MonitorSpec) -> Monitor {
    let m = monitor(org, spec);
    store
        .create_monitor(
            &m,
            1000,
            &audit(org, "monitor.create", "monitor", m.id.as_str()),
        )
        .await
        .unwrap();
    m
}

fn result(m: &Monitor, check_type: CheckType, status: CheckStatus, created_at: i64) -> CheckResult {
    CheckResult {
        id: ResultId::generated_at(created_at),
        org_id: m.org_id.clone(),
        monitor_id: m.id.clone(),
        check_type,
        status,
        degraded: false,
        region: Some("virginia".into()),
        latency_ms: Some(120),
        http_status: (check_type == CheckType::Uptime).then_some(503),
        error: (status == CheckStatus::Fail).then(|| "HTTP 503".to_string()),
        details: json!({"phases": {"connectMs": 3}}),
        created_at,
    }
}

/// Stores an SSL check's certificate the way the checker does: in a
/// check's record, through the writer's batch.
async fn record_seen_certificate(
    store: &dyn Store,
    verdict: &MonitorCertificate,
    served: Option<&ServedCertificate>,
) {
    let record = crate::CheckRecord {
        org_id: verdict.org_id.clone(),
        monitor_id: verdict.monitor_id.clone(),
        results: Vec::new(),
        state: None,
        ping: None,
        certificate: Some(crate::CertificateSeen {
            verdict: verdict.clone(),
            served: served.cloned(),
        }),
    };
    store.record_checks(&[record]).await.unwrap();
}

/// A webhook channel routed by `events`, stored with its audit entry.
async fn add_channel(
    store: &dyn Store,
    org: &OrgId,
    events: &[&str],
) -> certsentry_domain::channel::Channel {
    let channel = test_channel(org, events);
    store
        .create_channel(
            &channel,
            &audit(org, "channel.create", "channel", channel.id.as_str()),
        )
        .await
        .unwrap();
    channel
}

/// An `uptime.down` event about `monitor`, fired now.
fn down_event(
    org: &OrgId,
    monitor: Option<&certsentry_domain::MonitorId>,
) -> certsentry_domain::alert::Event {
    use certsentry_domain::alert::{Event, EventType, Severity};
    Event {
        id: certsentry_domain::EventId::generate(),
        org_id: org.clone(),
        monitor_id: monitor.cloned(),
        environment_id: None,
        event_type: EventType::UptimeDown,
        severity: Severity::Critical,
        status: "down".into(),
        monitor: None,
        details: json!({"Last error": "connect timeout"}),
        subject: Default::default(),
        created_at: now_ms(),
    }
}

fn test_channel(org: &OrgId, events: &[&str]) -> certsentry_domain::channel::Channel {
    let input = certsentry_domain::channel::ChannelDraft {
        name: Some("ops".into()),
        channel_type: Some(certsentry_domain::channel::ChannelType::Webhook),
        url: Some("https://hooks.example.com/x".into()),
        events: Some(
            events
                .iter()
                .map(|e| certsentry_domain::alert::EventType::parse(e).expect("a known event"))
                .collect(),
        ),
        ..Default::default()
    };
    let spec = certsentry_domain::channel::validate_channel(input, None).unwrap();
    certsentry_domain::channel::Channel {
        secret: Some("s3cret".into()),
        ..certsentry_domain::channel::Channel::new(org.clone(), spec)
    }
}
