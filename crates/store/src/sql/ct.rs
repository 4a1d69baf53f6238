//! Certificate Transparency. A finding is stored whole as JSON beside the
//! columns it is looked up by; its state and decision time live in their own
//! columns.

use certsentry_domain as d;

use super::alerts::*;
use super::results::insert_result_rows;
use super::*;
use crate::*;

pub(super) const KNOWN_COLUMNS: &str = "id, org_id, sha256, tbs_sha256, note, created_at";

pub(super) const FINDING_COLUMNS: &str = "id, state, decided_at, finding";

pub(super) fn known_from_row<B: SqlBackend>(
    row: &SqlRow<B>,
) -> StoreResult<d::ct::KnownCertificate> {
    Ok(d::ct::KnownCertificate {
        id: d::KnownCertificateId::from_string(row.get::<String>("id")?),
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        sha256: row.get("sha256")?,
        tbs_sha256: row.get("tbs_sha256")?,
        note: row.get("note")?,
        created_at: row.get("created_at")?,
    })
}

pub(super) fn log_position_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<LogPosition> {
    Ok(LogPosition {
        position: row.get::<i64>("position")? as u64,
        state: row.get("state")?,
    })
}

pub(super) fn finding_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<d::ct::CtFinding> {
    let mut finding = decode_finding(&row.get::<String>("finding")?)?;
    let state: String = row.get("state")?;
    finding.state = d::ct::FindingState::parse(&state)
        .ok_or_else(|| StoreError::Corrupt(format!("ct finding state {state:?}")))?;
    finding.decided_at = row.get("decided_at")?;
    Ok(finding)
}

#[async_trait::async_trait]
impl<B: SqlBackend> CtStore for SqlStore<B> {
    async fn create_known_certificate(
        &self,
        known: &d::ct::KnownCertificate,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(
            "INSERT INTO known_certificates (id, org_id, sha256, tbs_sha256, note, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(known.id.as_str())
        .bind(known.org_id.as_str())
        .bind(known.sha256.as_deref())
        .bind(known.tbs_sha256.as_deref())
        .bind(known.note.as_deref())
        .bind(known.created_at)
        .execute(&mut tx)
        .await?;
        commit_audited(tx, audit).await
    }

    async fn list_known_certificates(
        &self,
        org: &d::OrgId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<d::ct::KnownCertificate>> {
        let mut query = SqlBuilder::<B>::new(format!(
            "SELECT {KNOWN_COLUMNS} FROM known_certificates WHERE org_id = "
        ));
        query.push_bind(org.as_str());
        newest_first(
            query,
            cursor,
            limit,
            self.read_pool(),
            known_from_row,
            |k| k.id.to_string(),
        )
        .await
    }

    async fn delete_known_certificate(
        &self,
        org: &d::OrgId,
        id: &d::KnownCertificateId,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let deleted = query::<B>("DELETE FROM known_certificates WHERE org_id = $1 AND id = $2")
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(&mut tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        commit_audited(tx, audit).await
    }

    async fn is_known_issuance(
        &self,
        org: &d::OrgId,
        cert_sha256: &str,
        tbs_sha256: &str,
    ) -> StoreResult<bool> {
        let found = query::<B>(
            "SELECT 1 AS one FROM known_certificates WHERE org_id = $1 AND (sha256 = $2 OR tbs_sha256 = $3) \
             UNION ALL \
             SELECT 1 AS one FROM served_certificates WHERE org_id = $1 AND (sha256 = $2 OR tbs_sha256 = $3) \
             LIMIT 1",
        )
        .bind(org.as_str())
        .bind(cert_sha256)
        .bind(tbs_sha256)
        .fetch_optional(self.read_pool())
        .await
        ?;
        Ok(found.is_some())
    }

    async fn insert_ct_finding(&self, finding: &d::ct::CtFinding) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let inserted = query::<B>(
            "INSERT INTO ct_certificates (id, org_id, monitor_id, tbs_sha256, cert_sha256, state, found_at, decided_at, finding) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (org_id, tbs_sha256) DO NOTHING",
        )
        .bind(finding.id.as_str())
        .bind(finding.org_id.as_str())
        .bind(finding.monitor_id.as_ref().map(|m| m.as_str()))
        .bind(&finding.tbs_sha256)
        .bind(&finding.cert_sha256)
        .bind(finding.state.as_str())
        .bind(finding.found_at)
        .bind(finding.decided_at)
        .bind(encode_finding(finding))
        .execute(&mut tx)
        .await
        ?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(inserted)
    }

    async fn due_ct_findings(
        &self,
        due: d::time::Millis,
        limit: u32,
    ) -> StoreResult<Vec<d::ct::CtFinding>> {
        query::<B>(::sqlx::AssertSqlSafe(format!(
            "SELECT {FINDING_COLUMNS} FROM ct_certificates WHERE state = 'pending' AND found_at <= $1 \
             ORDER BY found_at LIMIT $2"
        )))
        .bind(due)
        .bind(limit as i64)
        .fetch_all(self.read_pool())
        .await
        ?
        .iter()
        .map(finding_from_row)
        .collect()
    }

    async fn decide_ct_finding(
        &self,
        org: &d::OrgId,
        id: &d::CtCertificateId,
        state: d::ct::FindingState,
        decided_at: d::time::Millis,
        event: Option<&d::alert::Event>,
        result: Option<&d::check::CheckResult>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let moved = query::<B>(
            "UPDATE ct_certificates SET state = $1, decided_at = $2 \
             WHERE org_id = $3 AND id = $4 AND state = 'pending'",
        )
        .bind(state.as_str())
        .bind(decided_at)
        .bind(org.as_str())
        .bind(id.as_str())
        .execute(&mut tx)
        .await?
        .rows_affected()
            == 1;
        if !moved {
            return Ok(false);
        }
        if let Some(e) = event {
            queue_routed_event(&mut tx, e).await?;
        }
        if let Some(result) = result {
            insert_result_rows(&mut tx, std::slice::from_ref(result)).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn list_ct_findings(
        &self,
        org: &d::OrgId,
        q: &FindingQuery,
    ) -> StoreResult<Page<d::ct::CtFinding>> {
        let mut query = SqlBuilder::<B>::new(format!(
            "SELECT {FINDING_COLUMNS} FROM ct_certificates WHERE state <> 'pending' AND org_id = "
        ));
        query.push_bind(org.as_str());
        if let Some(m) = &q.monitor_id {
            query.push(" AND monitor_id = ").push_bind(m.as_str());
        }
        match q.known {
            Some(true) => {
                query.push(" AND state = 'known'");
            }
            Some(false) => {
                query.push(" AND state = 'suspicious'");
            }
            None => {}
        }
        if let Some(since) = q.since {
            query.push(" AND found_at >= ").push_bind(since);
        }
        newest_first(
            query,
            q.cursor.as_deref(),
            q.limit,
            self.read_pool(),
            finding_from_row,
            |f| f.id.to_string(),
        )
        .await
    }

    async fn get_ct_finding(
        &self,
        org: &d::OrgId,
        id: &d::CtCertificateId,
    ) -> StoreResult<Option<d::ct::CtFinding>> {
        query::<B>(::sqlx::AssertSqlSafe(format!(
            "SELECT {FINDING_COLUMNS} FROM ct_certificates WHERE org_id = $1 AND id = $2"
        )))
        .bind(org.as_str())
        .bind(id.as_str())
        .fetch_optional(self.read_pool())
        .await?
        .as_ref()
        .map(finding_from_row)
        .transpose()
    }
}

#[async_trait::async_trait]
impl<B: SqlBackend> LogPositionStore for SqlStore<B> {
    async fn get_log_position(&self, log_id: &str) -> StoreResult<Option<LogPosition>> {
        let row = query::<B>("SELECT position, state FROM ct_log_states WHERE log_id = $1")
            .bind(log_id)
            .fetch_optional(self.read_pool())
            .await?;
        row.as_ref().map(log_position_from_row).transpose()
    }

    async fn put_log_position(&self, log_id: &str, position: &LogPosition) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(
            "INSERT INTO ct_log_states (log_id, position, state, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (log_id) DO UPDATE SET position = excluded.position, state = excluded.state, \
             updated_at = excluded.updated_at",
        )
        .bind(log_id)
        .bind(position.position as i64)
        .bind(&position.state)
        .bind(d::time::now_ms())
        .execute(&mut tx)
        .await
        ?;
        tx.commit().await.map_err(StoreError::from)
    }

    async fn list_log_positions(&self) -> StoreResult<Vec<StoredLogPosition>> {
        let rows = query::<B>(
            "SELECT log_id, position, state, updated_at FROM ct_log_states ORDER BY log_id",
        )
        .fetch_all(self.read_pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredLogPosition {
                    log_id: r.get("log_id")?,
                    position: log_position_from_row(r)?,
                    updated_at: r.get("updated_at")?,
                })
            })
            .collect()
    }

    async fn delete_log_position(&self, log_id: &str) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let deleted = query::<B>("DELETE FROM ct_log_states WHERE log_id = $1")
            .bind(log_id)
            .execute(&mut tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted > 0)
    }
}
