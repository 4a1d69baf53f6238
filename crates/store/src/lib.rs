//! The persistence boundary. Every backend implements [`Store`]; the API and,
//! later, the engine only ever see `Arc<dyn Store>`.
//!
//! Both SQL backends share their query code: [`sql::SqlStore`] is generic
//! over [`sql::SqlBackend`], which each backend crate implements (feature
//! `sql`).

pub mod agents;
pub mod alerts;
pub mod audit;
pub mod cached;
pub mod checks;
pub mod ct;
pub mod dmarc;
pub mod forward;
pub mod monitors;
pub mod orgs;
pub mod people;
mod records;
#[cfg(feature = "sql")]
pub mod sql;
pub mod status_notices;
pub mod status_pages;
pub mod tls;

pub use certsentry_domain as domain;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "conformance")]
pub use conformance::conformance_support_impl as conformance_support;

use async_trait::async_trait;
use certsentry_domain::monitor::{Monitor, MonitorStatus};
use certsentry_domain::time::Millis;

pub use agents::{AgentStore, HeldJobs, JobClaim, KeyedResult, ServerNode};
pub use alerts::*;
pub use audit::AuditStore;
pub use cached::CachedStore;
pub use checks::{
    CertificateStore, CheckStore, HeartbeatStore, RegistrationStore, ResultStore, StatsStore,
};
pub use ct::*;
pub use dmarc::{DmarcStore, ImportOutcome, TlsReport};
pub use forward::Forward;
pub use monitors::MonitorStore;
pub use orgs::{EnvironmentStore, KeyStore, OrgStore};
pub use people::{PeopleStore, SessionRecord};
pub use records::*;
pub use status_notices::StatusNoticeStore;
pub use status_pages::StatusPageStore;
pub use tls::{TlsScanRecord, TlsScanStore};

/// Errors every backend maps into.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was hit; the string names which (`externalId`, `slug`, `name`).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The write would exceed a quota passed in by the caller.
    #[error("quota of {limit} exceeded")]
    QuotaExceeded { limit: u32 },
    #[error("not found")]
    NotFound,
    /// Stored data that does not decode (a bug or a hand-edited database).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database cannot be reached now (connection refused or lost, no
    /// pooled connection within the acquire timeout). The caller should
    /// answer "try again" and keep nothing half-done: the write did not
    /// commit.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Every enabled monitor of every organization (the scheduler's and the CT
/// watch list's view).
pub async fn enabled_monitors(store: &dyn Store) -> StoreResult<Vec<Monitor>> {
    let mut all = Vec::new();
    for org in store.list_orgs().await? {
        let mut query = MonitorQuery {
            enabled: Some(true),
            limit: 1000,
            ..Default::default()
        };
        loop {
            let page = store.list_monitors(&org.id, &query).await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => break,
            }
        }
    }
    Ok(all)
}

/// Everything CertSentry persists, one trait per aggregate. Methods that
/// change data take the audit event describing the change and write it in
/// the same transaction.
#[async_trait]
pub trait Store:
    OrgStore
    + AgentStore
    + KeyStore
    + EnvironmentStore
    + MonitorStore
    + CheckStore
    + ResultStore
    + HeartbeatStore
    + RegistrationStore
    + StatsStore
    + CertificateStore
    + StatusPageStore
    + StatusNoticeStore
    + PeopleStore
    + AuditStore
    + ChannelStore
    + AlertStore
    + DeliveryStore
    + CtStore
    + LogPositionStore
    + DmarcStore
    + TlsScanStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Cheap round trip, for `/healthz`.
    async fn ping(&self) -> StoreResult<()>;
}

/// Brings every store trait into scope: `use certsentry_store::prelude::*;`
/// lets code call any store method on an `Arc<dyn Store>`.
pub mod prelude {
    pub use crate::{
        AgentStore, AlertStore, AuditStore, CertificateStore, ChannelStore, CheckStore, CtStore,
        DeliveryStore, DmarcStore, EnvironmentStore, HeartbeatStore, KeyStore, LogPositionStore,
        MonitorStore, OrgStore, PeopleStore, RegistrationStore, ResultStore, StatsStore,
        StatusNoticeStore, StatusPageStore, Store, TlsScanStore,
    };
}

/// The state the check engine keeps on a monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorState {
    pub last_status: MonitorStatus,
    pub ssl_not_after: Option<Millis>,
    pub domain_expiry: Option<Millis>,
}
