//! Organizations, API keys and environments.

use async_trait::async_trait;
use certsentry_domain::apikey::ApiKey;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::org::{Environment, Org};
use certsentry_domain::time::Millis;
use certsentry_domain::{ApiKeyId, EnvironmentId, OrgId};

use crate::*;

/// Organizations: the tenants every other row belongs to.
#[async_trait]
pub trait OrgStore: Send + Sync {
    async fn create_org(&self, org: &Org, audit: &AuditEvent) -> StoreResult<()>;
    async fn get_org(&self, id: &OrgId) -> StoreResult<Option<Org>>;
    async fn list_orgs(&self) -> StoreResult<Vec<Org>>;
}

/// API keys, stored only as hashes.
#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn create_api_key(&self, key: &ApiKey, audit: &AuditEvent) -> StoreResult<()>;
    async fn find_api_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKey>>;
    async fn list_api_keys(&self, org: Option<&OrgId>) -> StoreResult<Vec<ApiKey>>;
    /// Marks a key revoked; `NotFound` if it does not exist or was already revoked.
    async fn revoke_api_key(
        &self,
        id: &ApiKeyId,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<ApiKey>;
    /// Records last use, batched by the caller (never on the request path).
    async fn touch_api_keys(&self, used: &[(ApiKeyId, Millis)]) -> StoreResult<()>;
}

/// Environments, which group monitors and route alerts.
#[async_trait]
pub trait EnvironmentStore: Send + Sync {
    async fn create_environment(&self, env: &Environment, audit: &AuditEvent) -> StoreResult<()>;
    async fn list_environments(&self, org: &OrgId) -> StoreResult<Vec<Environment>>;
    async fn get_environment(
        &self,
        org: &OrgId,
        id: &EnvironmentId,
    ) -> StoreResult<Option<Environment>>;
    /// Deletes an environment and detaches its monitors.
    async fn delete_environment(
        &self,
        org: &OrgId,
        id: &EnvironmentId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
}
