//! What a status page announces beyond its monitors' states: incidents
//! (with their timeline of updates) and maintenance windows.

use async_trait::async_trait;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::status_page::incident::Incident;
use certsentry_domain::status_page::maintenance::Maintenance;
use certsentry_domain::time::Millis;
use certsentry_domain::{IncidentId, MaintenanceId, MonitorId, OrgId, StatusPageId};

use crate::*;

/// Incidents and maintenance windows, each belonging to one status page.
/// An operator's writes carry their audit event; the engine's own (an
/// incident opened or resolved by an outage) carry none.
#[async_trait]
pub trait StatusNoticeStore: Send + Sync {
    /// Stores a new incident with its updates.
    async fn create_incident(
        &self,
        incident: &Incident,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<()>;
    /// Stores the incident's newest update and the state it moved to.
    async fn add_incident_update(
        &self,
        incident: &Incident,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<()>;
    async fn get_incident(
        &self,
        org: &OrgId,
        page: &StatusPageId,
        id: &IncidentId,
    ) -> StoreResult<Option<Incident>>;
    /// A page's incidents, newest first, after `cursor`.
    async fn list_incidents(
        &self,
        org: &OrgId,
        page: &StatusPageId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Incident>>;
    /// What a page shows publicly: every open incident, and those updated
    /// since `since`; newest first.
    async fn list_page_incidents(
        &self,
        page: &StatusPageId,
        since: Millis,
    ) -> StoreResult<Vec<Incident>>;
    /// The open incident `monitor`'s outage opened on `page`, if any.
    async fn open_incident_for_monitor(
        &self,
        page: &StatusPageId,
        monitor: &MonitorId,
    ) -> StoreResult<Option<Incident>>;

    async fn create_maintenance(&self, window: &Maintenance, audit: &AuditEvent)
    -> StoreResult<()>;
    async fn update_maintenance(&self, window: &Maintenance, audit: &AuditEvent)
    -> StoreResult<()>;
    async fn delete_maintenance(
        &self,
        org: &OrgId,
        id: &MaintenanceId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn get_maintenance(
        &self,
        org: &OrgId,
        page: &StatusPageId,
        id: &MaintenanceId,
    ) -> StoreResult<Option<Maintenance>>;
    /// A page's windows, newest first, after `cursor`.
    async fn list_maintenance(
        &self,
        org: &OrgId,
        page: &StatusPageId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Maintenance>>;
    /// A page's windows that end after `since`, earliest start first.
    async fn list_page_maintenance(
        &self,
        page: &StatusPageId,
        since: Millis,
    ) -> StoreResult<Vec<Maintenance>>;
    /// Whether `monitor` is inside an active window at `at`, on any page.
    async fn in_maintenance(&self, monitor: &MonitorId, at: Millis) -> StoreResult<bool>;
    /// The availability checks (uptime and TCP) `monitor` ran in
    /// `[from, to)`, per UTC day (`YYYY-MM-DD`, checks, failed): what a
    /// maintenance window leaves out of the uptime figures.
    async fn checks_during(
        &self,
        monitor: &MonitorId,
        from: Millis,
        to: Millis,
    ) -> StoreResult<Vec<(String, u64, u64)>>;
}
