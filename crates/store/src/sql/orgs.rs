//! Organizations and environments, and the per-organization lock quota checks
//! take.

use certsentry_domain as d;

use super::*;
use crate::*;

pub(super) fn org_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<d::org::Org> {
    Ok(d::org::Org {
        id: d::OrgId::from_string(row.get::<String>("id")?),
        name: row.get("name")?,
        plan: row.get("plan")?,
        created_at: row.get("created_at")?,
    })
}

pub(super) fn env_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<d::org::Environment> {
    Ok(d::org::Environment {
        id: d::EnvironmentId::from_string(row.get::<String>("id")?),
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        name: row.get("name")?,
        created_at: row.get("created_at")?,
    })
}

pub(super) async fn lock_org<B: SqlBackend>(tx: &mut Tx<B>, org: &d::OrgId) -> StoreResult<()> {
    let found = query::<B>(B::LOCK_ORG)
        .bind(org.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound)
}

pub(super) async fn count_in<B: SqlBackend>(
    tx: &mut Tx<B>,
    table_sql: &'static str,
    org: &d::OrgId,
) -> StoreResult<u64> {
    let row = query::<B>(table_sql)
        .bind(org.as_str())
        .fetch_one(&mut *tx)
        .await?;
    Ok(row.get::<i64>("n")? as u64)
}

#[async_trait::async_trait]
impl<B: SqlBackend> OrgStore for SqlStore<B> {
    async fn create_org(&self, org: &d::org::Org, audit: &d::audit::AuditEvent) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>("INSERT INTO orgs (id, name, plan, created_at) VALUES ($1, $2, $3, $4)")
            .bind(org.id.as_str())
            .bind(&org.name)
            .bind(&org.plan)
            .bind(org.created_at)
            .execute(&mut tx)
            .await
            .map_err(conflict_or("id"))?;
        commit_audited(tx, audit).await
    }

    async fn get_org(&self, id: &d::OrgId) -> StoreResult<Option<d::org::Org>> {
        query::<B>("SELECT id, name, plan, created_at FROM orgs WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(self.read_pool())
            .await?
            .as_ref()
            .map(org_from_row)
            .transpose()
    }

    async fn list_orgs(&self) -> StoreResult<Vec<d::org::Org>> {
        query::<B>("SELECT id, name, plan, created_at FROM orgs ORDER BY id")
            .fetch_all(self.read_pool())
            .await?
            .iter()
            .map(org_from_row)
            .collect()
    }
}

#[async_trait::async_trait]
impl<B: SqlBackend> EnvironmentStore for SqlStore<B> {
    async fn create_environment(
        &self,
        env: &d::org::Environment,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(
            "INSERT INTO environments (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(env.id.as_str())
        .bind(env.org_id.as_str())
        .bind(&env.name)
        .bind(env.created_at)
        .execute(&mut tx)
        .await
        .map_err(conflict_or("name"))?;
        commit_audited(tx, audit).await
    }

    async fn list_environments(&self, org: &d::OrgId) -> StoreResult<Vec<d::org::Environment>> {
        query::<B>(
            "SELECT id, org_id, name, created_at FROM environments WHERE org_id = $1 ORDER BY id",
        )
        .bind(org.as_str())
        .fetch_all(self.read_pool())
        .await?
        .iter()
        .map(env_from_row)
        .collect()
    }

    async fn get_environment(
        &self,
        org: &d::OrgId,
        id: &d::EnvironmentId,
    ) -> StoreResult<Option<d::org::Environment>> {
        query::<B>(
            "SELECT id, org_id, name, created_at FROM environments WHERE org_id = $1 AND id = $2",
        )
        .bind(org.as_str())
        .bind(id.as_str())
        .fetch_optional(self.read_pool())
        .await?
        .as_ref()
        .map(env_from_row)
        .transpose()
    }

    async fn delete_environment(
        &self,
        org: &d::OrgId,
        id: &d::EnvironmentId,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(
            "UPDATE monitors SET environment_id = NULL WHERE org_id = $1 AND environment_id = $2",
        )
        .bind(org.as_str())
        .bind(id.as_str())
        .execute(&mut tx)
        .await?;
        let done = query::<B>("DELETE FROM environments WHERE org_id = $1 AND id = $2")
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(&mut tx)
            .await?;
        found(done.rows_affected())?;
        commit_audited(tx, audit).await
    }
}
