//! The audit log.

use async_trait::async_trait;
use certsentry_domain::OrgId;
use certsentry_domain::audit::AuditEvent;

use crate::*;

/// The audit log. Most entries ride along with the write they describe.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// For events with no other write to ride along with.
    async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    async fn list_audit(&self, org: &OrgId, query: &AuditQuery) -> StoreResult<Page<AuditEvent>>;
}
