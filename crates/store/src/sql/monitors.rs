//! Monitors: definitions stored as JSON beside the columns queries filter on.

use certsentry_domain as d;

use super::audit::*;
use super::orgs::*;
use super::*;
use crate::*;

pub(super) fn monitor_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<d::monitor::Monitor> {
    let mut spec = decode_spec(&row.get::<String>("spec")?)?;
    // The columns are the truth for what can change outside a definition
    // update (an environment's deletion detaches its monitors).
    spec.environment_id = row
        .get::<Option<String>>("environment_id")?
        .map(d::EnvironmentId::from_string);
    let status: String = row.get("last_status")?;
    Ok(d::monitor::Monitor {
        id: d::MonitorId::from_string(row.get::<String>("id")?),
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        spec,
        heartbeat_token: row.get("heartbeat_token")?,
        last_status: d::monitor::MonitorStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("last_status {status}")))?,
        ssl_not_after: row.get("ssl_not_after")?,
        domain_expiry: row.get("domain_expiry")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

pub(super) const COUNT_MONITORS: &str = "SELECT COUNT(*) AS n FROM monitors WHERE org_id = $1";

pub(super) async fn insert_monitor<B: SqlBackend>(
    tx: &mut Tx<B>,
    m: &d::monitor::Monitor,
) -> StoreResult<()> {
    let spec = &m.spec;
    query::<B>(
        "INSERT INTO monitors (id, org_id, kind, enabled, external_id, environment_id, \
         spec, heartbeat_token, last_status, ssl_not_after, domain_expiry, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(m.id.as_str())
    .bind(m.org_id.as_str())
    .bind(spec.kind.as_str())
    .bind(spec.enabled)
    .bind(spec.external_id.as_deref())
    .bind(spec.environment_id.as_ref().map(|e| e.as_str()))
    .bind(encode_spec(spec))
    .bind(m.heartbeat_token.as_deref())
    .bind(m.last_status.as_str())
    .bind(m.ssl_not_after)
    .bind(m.domain_expiry)
    .bind(m.created_at)
    .bind(m.updated_at)
    .execute(&mut *tx)
    .await
    .map_err(conflict_or("externalId"))?;
    super::agents::sync_check_jobs(tx, m).await
}

pub(super) async fn update_monitor_row<B: SqlBackend>(
    tx: &mut Tx<B>,
    m: &d::monitor::Monitor,
) -> StoreResult<()> {
    let spec = &m.spec;
    let done = query::<B>(
        "UPDATE monitors SET enabled = $1, external_id = $2, environment_id = $3, \
         spec = $4, updated_at = $5 WHERE org_id = $6 AND id = $7",
    )
    .bind(spec.enabled)
    .bind(spec.external_id.as_deref())
    .bind(spec.environment_id.as_ref().map(|e| e.as_str()))
    .bind(encode_spec(spec))
    .bind(m.updated_at)
    .bind(m.org_id.as_str())
    .bind(m.id.as_str())
    .execute(&mut *tx)
    .await
    .map_err(conflict_or("externalId"))?;
    found(done.rows_affected())?;
    super::agents::sync_check_jobs(tx, m).await
}

pub(super) async fn delete_monitor_row<B: SqlBackend>(
    tx: &mut Tx<B>,
    org: &d::OrgId,
    id: &d::MonitorId,
) -> StoreResult<()> {
    // Explicit rather than ON DELETE CASCADE alone, so the behaviour does
    // not depend on SQLite's foreign_keys pragma.
    query::<B>("DELETE FROM status_page_monitors WHERE monitor_id = $1 AND monitor_id IN (SELECT id FROM monitors WHERE org_id = $2)")
        .bind(id.as_str())
        .bind(org.as_str())
        .execute(&mut *tx)
        .await
        ?;
    // Everything else a monitor owns: its history and check state.
    for owned in [
        "DELETE FROM check_results WHERE org_id = $1 AND monitor_id = $2",
        "DELETE FROM heartbeats WHERE org_id = $1 AND monitor_id = $2",
        "DELETE FROM daily_stats WHERE org_id = $1 AND monitor_id = $2",
        "DELETE FROM monitor_certificates WHERE org_id = $1 AND monitor_id = $2",
        "DELETE FROM alert_state WHERE monitor_id IN (SELECT id FROM monitors WHERE org_id = $1 AND id = $2)",
        "DELETE FROM check_jobs WHERE org_id = $1 AND monitor_id = $2",
    ] {
        query::<B>(owned)
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
    }
    let done = query::<B>("DELETE FROM monitors WHERE org_id = $1 AND id = $2")
        .bind(org.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    found(done.rows_affected())?;
    Ok(())
}

#[async_trait::async_trait]
impl<B: SqlBackend> MonitorStore for SqlStore<B> {
    async fn create_monitor(
        &self,
        monitor: &d::monitor::Monitor,
        max_monitors: u32,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        lock_org(&mut tx, &monitor.org_id).await?;
        if count_in(&mut tx, COUNT_MONITORS, &monitor.org_id).await? >= max_monitors as u64 {
            return Err(StoreError::QuotaExceeded {
                limit: max_monitors,
            });
        }
        insert_monitor(&mut tx, monitor).await?;
        commit_audited(tx, audit).await
    }

    async fn get_monitor(
        &self,
        org: &d::OrgId,
        id: &d::MonitorId,
    ) -> StoreResult<Option<d::monitor::Monitor>> {
        let sql = format!("SELECT {MONITOR_COLUMNS} FROM monitors WHERE org_id = $1 AND id = $2");
        query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .bind(id.as_str())
            .fetch_optional(self.read_pool())
            .await?
            .as_ref()
            .map(monitor_from_row)
            .transpose()
    }

    async fn list_monitors(
        &self,
        org: &d::OrgId,
        q: &MonitorQuery,
    ) -> StoreResult<Page<d::monitor::Monitor>> {
        let mut query = SqlBuilder::<B>::new(format!(
            "SELECT {MONITOR_COLUMNS} FROM monitors WHERE org_id = "
        ));
        query.push_bind(org.as_str());
        if let Some(kind) = q.kind {
            query.push(" AND kind = ").push_bind(kind.as_str());
        }
        if let Some(enabled) = q.enabled {
            query.push(" AND enabled = ").push_bind(enabled);
        }
        if let Some(cursor) = &q.cursor {
            query.push(" AND id > ").push_bind(cursor.as_str());
        }
        query
            .push(" ORDER BY id LIMIT ")
            .push_bind(q.limit as i64 + 1);
        let rows = query.build().fetch_all(self.read_pool()).await?;
        let items = rows
            .iter()
            .map(monitor_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(paginate(items, q.limit, |m| m.id.to_string()))
    }

    async fn rotate_heartbeat_token(
        &self,
        org: &d::OrgId,
        id: &d::MonitorId,
        token: &str,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done = query::<B>(
            "UPDATE monitors SET heartbeat_token = $1 \
             WHERE org_id = $2 AND id = $3 AND heartbeat_token IS NOT NULL",
        )
        .bind(token)
        .bind(org.as_str())
        .bind(id.as_str())
        .execute(&mut tx)
        .await?;
        found(done.rows_affected())?;
        commit_audited(tx, audit).await
    }

    async fn update_monitor(
        &self,
        monitor: &d::monitor::Monitor,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        update_monitor_row(&mut tx, monitor).await?;
        commit_audited(tx, audit).await
    }

    async fn delete_monitor(
        &self,
        org: &d::OrgId,
        id: &d::MonitorId,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        delete_monitor_row(&mut tx, org, id).await?;
        commit_audited(tx, audit).await
    }

    async fn list_managed_monitors(&self, org: &d::OrgId) -> StoreResult<Vec<d::monitor::Monitor>> {
        let sql = format!(
            "SELECT {MONITOR_COLUMNS} FROM monitors WHERE org_id = $1 AND external_id IS NOT NULL ORDER BY id"
        );
        query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .fetch_all(self.read_pool())
            .await?
            .iter()
            .map(monitor_from_row)
            .collect()
    }

    async fn count_monitors(&self, org: &d::OrgId) -> StoreResult<u64> {
        let row = query::<B>(COUNT_MONITORS)
            .bind(org.as_str())
            .fetch_one(self.read_pool())
            .await?;
        Ok(row.get::<i64>("n")? as u64)
    }

    async fn apply_sync(
        &self,
        org: &d::OrgId,
        plan: &SyncChanges,
        max_monitors: u32,
        audit: &[d::audit::AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        lock_org(&mut tx, org).await?;
        for id in &plan.delete {
            delete_monitor_row(&mut tx, org, id).await?;
        }
        for monitor in &plan.update {
            update_monitor_row(&mut tx, monitor).await?;
        }
        if !plan.create.is_empty() {
            let existing = count_in(&mut tx, COUNT_MONITORS, org).await?;
            if existing + plan.create.len() as u64 > max_monitors as u64 {
                return Err(StoreError::QuotaExceeded {
                    limit: max_monitors,
                });
            }
        }
        for monitor in &plan.create {
            insert_monitor(&mut tx, monitor).await?;
        }
        for event in audit {
            insert_audit(&mut tx, event).await?;
        }
        tx.commit().await.map_err(StoreError::from)
    }

    async fn find_heartbeat_monitor(
        &self,
        token: &str,
    ) -> StoreResult<Option<std::sync::Arc<d::monitor::Monitor>>> {
        // Many pings' lookups go in one query (see `token_lookups`).
        self.heartbeat_tokens
            .find::<B>(self.backend.read_pool(), token)
            .await
    }
}
