//! Status pages.

use async_trait::async_trait;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::status_page::StatusPage;
use certsentry_domain::{OrgId, StatusPageId};

use crate::*;

/// Status pages and the monitors they show.
#[async_trait]
pub trait StatusPageStore: Send + Sync {
    async fn create_status_page(
        &self,
        page: &StatusPage,
        max_pages: u32,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn get_status_page(
        &self,
        org: &OrgId,
        id: &StatusPageId,
    ) -> StoreResult<Option<StatusPage>>;
    async fn list_status_pages(&self, org: &OrgId) -> StoreResult<Vec<StatusPage>>;
    /// The page published at `/status/<slug>` (slugs are unique across
    /// organizations), enabled or not.
    async fn get_status_page_by_slug(&self, slug: &str) -> StoreResult<Option<StatusPage>>;
    async fn update_status_page(&self, page: &StatusPage, audit: &AuditEvent) -> StoreResult<()>;
    async fn delete_status_page(
        &self,
        org: &OrgId,
        id: &StatusPageId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
}
