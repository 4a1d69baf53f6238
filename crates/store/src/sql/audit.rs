//! The audit log.

use certsentry_domain as d;

use super::alerts::*;
use super::*;
use crate::*;

pub(super) fn audit_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<d::audit::AuditEvent> {
    Ok(d::audit::AuditEvent {
        id: d::AuditId::from_string(row.get::<String>("id")?),
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        action: row.get("action")?,
        actor: d::audit::Actor {
            id: row.get("actor_id")?,
            name: row.get("actor_name")?,
            email: row.get("actor_email")?,
        },
        target_type: row.get("target_type")?,
        target_id: row.get("target_id")?,
        metadata: decode_json(&row.get::<String>("metadata")?)?,
        created_at: row.get("created_at")?,
    })
}

pub(super) async fn insert_audit<B: SqlBackend>(
    tx: &mut Tx<B>,
    e: &d::audit::AuditEvent,
) -> StoreResult<()> {
    stream_audit(tx, e).await?;
    query::<B>(
        "INSERT INTO audit_events (id, org_id, action, actor_id, actor_name, \
         actor_email, target_type, target_id, metadata, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(e.id.as_str())
    .bind(e.org_id.as_str())
    .bind(&e.action)
    .bind(&e.actor.id)
    .bind(&e.actor.name)
    .bind(&e.actor.email)
    .bind(&e.target_type)
    .bind(&e.target_id)
    .bind(e.metadata.to_string())
    .bind(e.created_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl<B: SqlBackend> AuditStore for SqlStore<B> {
    async fn record_audit(&self, event: &d::audit::AuditEvent) -> StoreResult<()> {
        let tx = self.begin_write().await?;
        commit_audited(tx, event).await
    }

    async fn list_audit(
        &self,
        org: &d::OrgId,
        q: &AuditQuery,
    ) -> StoreResult<Page<d::audit::AuditEvent>> {
        let mut query = SqlBuilder::<B>::new(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE org_id = "
        ));
        query.push_bind(org.as_str());
        if let Some(action) = &q.action {
            query.push(" AND action = ").push_bind(action.as_str());
        }
        if let Some(target_type) = &q.target_type {
            query
                .push(" AND target_type = ")
                .push_bind(target_type.as_str());
        }
        if let Some(since) = q.since {
            query.push(" AND created_at >= ").push_bind(since);
        }
        newest_first(
            query,
            q.cursor.as_deref(),
            q.limit,
            self.read_pool(),
            audit_from_row,
            |e| e.id.to_string(),
        )
        .await
    }
}
