//! Monitors.

use std::sync::Arc;

use async_trait::async_trait;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::monitor::Monitor;
use certsentry_domain::{MonitorId, OrgId};

use crate::*;

/// Monitor definitions, with their quota checked in the write transaction.
#[async_trait]
pub trait MonitorStore: Send + Sync {
    /// Inserts unless the organization already has `max_monitors`.
    async fn create_monitor(
        &self,
        monitor: &Monitor,
        max_monitors: u32,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn get_monitor(&self, org: &OrgId, id: &MonitorId) -> StoreResult<Option<Monitor>>;
    async fn list_monitors(&self, org: &OrgId, query: &MonitorQuery) -> StoreResult<Page<Monitor>>;
    /// Replaces the definition (spec, updated_at) of an existing monitor.
    async fn update_monitor(&self, monitor: &Monitor, audit: &AuditEvent) -> StoreResult<()>;
    /// Deletes a monitor, its status-page entries and (later) its history.
    async fn delete_monitor(
        &self,
        org: &OrgId,
        id: &MonitorId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Gives a heartbeat monitor a new ping token; the old one stops working
    /// at once. `NotFound` for a monitor that is not a heartbeat of `org`.
    async fn rotate_heartbeat_token(
        &self,
        org: &OrgId,
        id: &MonitorId,
        token: &str,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Every monitor of the organization that has an externalId.
    async fn list_managed_monitors(&self, org: &OrgId) -> StoreResult<Vec<Monitor>>;
    async fn count_monitors(&self, org: &OrgId) -> StoreResult<u64>;
    /// Applies a declarative sync atomically, enforcing `max_monitors` on the result.
    async fn apply_sync(
        &self,
        org: &OrgId,
        plan: &SyncChanges,
        max_monitors: u32,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// The heartbeat monitor whose ping URL carries `token`; shared, like
    /// [`MonitorStore::get_monitor_shared`], because every ping reads it
    /// and copying a monitor's thirty fields was a ping's largest
    /// allocation.
    async fn find_heartbeat_monitor(&self, token: &str) -> StoreResult<Option<Arc<Monitor>>>;

    /// Whether [`MonitorStore::get_monitor_shared`] and
    /// [`MonitorStore::list_monitors_shared`] hand out the store's own copies:
    /// the same `Arc` until the monitor changes, a new one after. A caller
    /// may then keep what it derives from a monitor (the API's JSON) and
    /// know it is current by `Arc::ptr_eq`. The monitor cache does; a
    /// database read directly makes a new copy each time.
    fn shares_monitors(&self) -> bool {
        false
    }

    /// [`MonitorStore::get_monitor`] without copying where the store keeps
    /// monitors in memory.
    async fn get_monitor_shared(
        &self,
        org: &OrgId,
        id: &MonitorId,
    ) -> StoreResult<Option<Arc<Monitor>>> {
        Ok(self.get_monitor(org, id).await?.map(Arc::new))
    }

    /// [`MonitorStore::list_monitors`] without copying where the store keeps
    /// monitors in memory.
    async fn list_monitors_shared(
        &self,
        org: &OrgId,
        query: &MonitorQuery,
    ) -> StoreResult<Page<Arc<Monitor>>> {
        let page = self.list_monitors(org, query).await?;
        Ok(Page {
            items: page.items.into_iter().map(Arc::new).collect(),
            next_cursor: page.next_cursor,
        })
    }
}
