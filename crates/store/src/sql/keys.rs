//! API keys (hashes only).

use certsentry_domain as d;

use super::audit::*;
use super::orgs::*;
use super::*;
use crate::*;

pub(super) fn key_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<d::apikey::ApiKey> {
    Ok(d::apikey::ApiKey {
        id: d::ApiKeyId::from_string(row.get::<String>("id")?),
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        name: row.get("name")?,
        hash: row.get("key_hash")?,
        hint: row.get("hint")?,
        read_only: row.get("read_only")?,
        created_at: row.get("created_at")?,
        last_used_at: row.get("last_used_at")?,
        revoked_at: row.get("revoked_at")?,
    })
}

#[async_trait::async_trait]
impl<B: SqlBackend> KeyStore for SqlStore<B> {
    async fn create_api_key(
        &self,
        key: &d::apikey::ApiKey,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        lock_org(&mut tx, &key.org_id).await?;
        query::<B>(
            "INSERT INTO api_keys (id, org_id, name, key_hash, hint, read_only, created_at, \
             last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(key.id.as_str())
        .bind(key.org_id.as_str())
        .bind(&key.name)
        .bind(&key.hash)
        .bind(&key.hint)
        .bind(key.read_only)
        .bind(key.created_at)
        .bind(key.last_used_at)
        .bind(key.revoked_at)
        .execute(&mut tx)
        .await
        .map_err(conflict_or("key"))?;
        commit_audited(tx, audit).await
    }

    async fn find_api_key_by_hash(&self, hash: &str) -> StoreResult<Option<d::apikey::ApiKey>> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1");
        query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(hash)
            .fetch_optional(self.read_pool())
            .await?
            .as_ref()
            .map(key_from_row)
            .transpose()
    }

    async fn list_api_keys(&self, org: Option<&d::OrgId>) -> StoreResult<Vec<d::apikey::ApiKey>> {
        let rows = match org {
            Some(org) => {
                let sql =
                    format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE org_id = $1 ORDER BY id");
                query::<B>(::sqlx::AssertSqlSafe(sql))
                    .bind(org.as_str())
                    .fetch_all(self.read_pool())
                    .await
            }
            None => {
                let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY id");
                query::<B>(::sqlx::AssertSqlSafe(sql))
                    .fetch_all(self.read_pool())
                    .await
            }
        }?;
        rows.iter().map(key_from_row).collect()
    }

    async fn revoke_api_key(
        &self,
        id: &d::ApiKeyId,
        at: d::time::Millis,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<d::apikey::ApiKey> {
        let mut tx = self.begin_write().await?;
        let done =
            query::<B>("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(at)
                .bind(id.as_str())
                .execute(&mut tx)
                .await?;
        found(done.rows_affected())?;
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = $1");
        let row = query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_one(&mut tx)
            .await?;
        let key = key_from_row(&row)?;
        let mut audit = audit.clone();
        audit.org_id = key.org_id.clone();
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(key)
    }

    async fn touch_api_keys(&self, used: &[(d::ApiKeyId, d::time::Millis)]) -> StoreResult<()> {
        if used.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for (id, at) in used {
            query::<B>("UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)")
                .bind(*at)
                .bind(id.as_str())
                .execute(&mut tx)
                .await
                ?;
        }
        tx.commit().await.map_err(StoreError::from)
    }
}
