//! DMARC domains, reports, sources, refused imports and TLS reports. A
//! report's identity is a unique index, so a report received twice (or at
//! two domains' addresses) is stored, and counted, once.

use std::collections::HashSet;
use std::net::IpAddr;

use certsentry_domain as d;
use certsentry_domain::dmarc::{
    DmarcDomain, DmarcReport, DmarcSource, PolicyPublished, RejectedImport, ReportSummary,
    failure_rate_event, new_failing_sources, new_source_event,
};

use super::alerts::*;
use super::orgs::*;
use super::*;
use crate::*;

const DOMAIN_COLUMNS: &str = "id, org_id, domain, failure_rate_threshold_pct, \
    last_failure_rate_alert_at, created_at, updated_at";
const REPORT_COLUMNS: &str = "id, org_id, domain_id, reporter_org, external_id, begin_at, end_at, \
    policy_published, message_count, fail_count, rows_skipped, received_at";
const COUNT_DOMAINS: &str = "SELECT COUNT(*) AS n FROM dmarc_domains WHERE org_id = $1";

/// New-source alerts raised by one report at most: a spam wave from a
/// thousand addresses is one incident, not a thousand pages.
pub const MAX_NEW_SOURCE_EVENTS: usize = 10;

fn domain_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<DmarcDomain> {
    Ok(DmarcDomain {
        id: d::DmarcDomainId::from_string(row.get::<String>("id")?),
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        domain: row.get("domain")?,
        failure_rate_threshold_pct: row.get::<i64>("failure_rate_threshold_pct")? as u32,
        last_failure_rate_alert_at: row.get("last_failure_rate_alert_at")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

fn report_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<DmarcReport> {
    Ok(DmarcReport {
        id: d::DmarcReportId::from_string(row.get::<String>("id")?),
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        domain_id: d::DmarcDomainId::from_string(row.get::<String>("domain_id")?),
        summary: ReportSummary {
            reporter_org: row.get("reporter_org")?,
            external_id: row.get("external_id")?,
            begin_at: row.get("begin_at")?,
            end_at: row.get("end_at")?,
            policy: PolicyPublished::from_json(&decode_json(
                &row.get::<String>("policy_published")?,
            )?),
            message_count: row.get::<i64>("message_count")? as u64,
            fail_count: row.get::<i64>("fail_count")? as u64,
            sources: Default::default(),
            rows_skipped: row.get::<i64>("rows_skipped")? as u64,
        },
        received_at: row.get("received_at")?,
    })
}

fn source_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<DmarcSource> {
    let ip: String = row.get("ip")?;
    Ok(DmarcSource {
        ip: ip
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("dmarc source ip {ip:?}")))?,
        first_seen_at: row.get("first_seen_at")?,
        last_seen_at: row.get("last_seen_at")?,
        pass_count: row.get::<i64>("pass_count")? as u64,
        fail_count: row.get::<i64>("fail_count")? as u64,
        ptr: row.get("ptr")?,
    })
}

fn import_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<RejectedImport> {
    Ok(RejectedImport {
        id: d::DmarcImportId::from_string(row.get::<String>("id")?),
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        domain_id: d::DmarcDomainId::from_string(row.get::<String>("domain_id")?),
        via: row.get("via")?,
        reason: row.get("reason")?,
        size_bytes: row.get::<i64>("size_bytes")? as u64,
        received_at: row.get("received_at")?,
    })
}

impl<B: SqlBackend> SqlStore<B> {
    /// The domain's sources before this report.
    async fn known_sources(
        tx: &mut Tx<B>,
        domain: &d::DmarcDomainId,
    ) -> StoreResult<HashSet<IpAddr>> {
        query::<B>("SELECT ip FROM dmarc_sources WHERE domain_id = $1")
            .bind(domain.as_str())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| {
                let ip: String = row.get("ip")?;
                ip.parse()
                    .map_err(|_| StoreError::Corrupt(format!("dmarc source ip {ip:?}")))
            })
            .collect()
    }

    async fn add_sources(tx: &mut Tx<B>, report: &DmarcReport) -> StoreResult<()> {
        let summary = &report.summary;
        for (ip, tally) in &summary.sources {
            query::<B>(
                "INSERT INTO dmarc_sources (domain_id, ip, first_seen_at, last_seen_at, \
                 pass_count, fail_count) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (domain_id, ip) DO UPDATE SET \
                 pass_count = dmarc_sources.pass_count + excluded.pass_count, \
                 fail_count = dmarc_sources.fail_count + excluded.fail_count, \
                 first_seen_at = CASE WHEN excluded.first_seen_at < dmarc_sources.first_seen_at \
                     THEN excluded.first_seen_at ELSE dmarc_sources.first_seen_at END, \
                 last_seen_at = CASE WHEN excluded.last_seen_at > dmarc_sources.last_seen_at \
                     THEN excluded.last_seen_at ELSE dmarc_sources.last_seen_at END",
            )
            .bind(report.domain_id.as_str())
            .bind(ip.to_string())
            .bind(summary.begin_at)
            .bind(summary.end_at)
            .bind(tally.pass as i64)
            .bind(tally.fail as i64)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl<B: SqlBackend> DmarcStore for SqlStore<B> {
    async fn create_dmarc_domain(
        &self,
        domain: &DmarcDomain,
        token_hash: &str,
        max_domains: u32,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        lock_org(&mut tx, &domain.org_id).await?;
        if count_in(&mut tx, COUNT_DOMAINS, &domain.org_id).await? >= max_domains as u64 {
            return Err(StoreError::QuotaExceeded { limit: max_domains });
        }
        query::<B>(
            "INSERT INTO dmarc_domains (id, org_id, domain, failure_rate_threshold_pct, \
             last_failure_rate_alert_at, token_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6, $7)",
        )
        .bind(domain.id.as_str())
        .bind(domain.org_id.as_str())
        .bind(&domain.domain)
        .bind(domain.failure_rate_threshold_pct as i64)
        .bind(token_hash)
        .bind(domain.created_at)
        .bind(domain.updated_at)
        .execute(&mut tx)
        .await
        .map_err(conflict_or("domain"))?;
        commit_audited(tx, audit).await
    }

    async fn list_dmarc_domains(&self, org: &d::OrgId) -> StoreResult<Vec<DmarcDomain>> {
        query::<B>(::sqlx::AssertSqlSafe(format!(
            "SELECT {DOMAIN_COLUMNS} FROM dmarc_domains WHERE org_id = $1 ORDER BY id"
        )))
        .bind(org.as_str())
        .fetch_all(self.read_pool())
        .await?
        .iter()
        .map(domain_from_row)
        .collect()
    }

    async fn get_dmarc_domain(
        &self,
        org: &d::OrgId,
        id: &d::DmarcDomainId,
    ) -> StoreResult<Option<DmarcDomain>> {
        query::<B>(::sqlx::AssertSqlSafe(format!(
            "SELECT {DOMAIN_COLUMNS} FROM dmarc_domains WHERE org_id = $1 AND id = $2"
        )))
        .bind(org.as_str())
        .bind(id.as_str())
        .fetch_optional(self.read_pool())
        .await?
        .as_ref()
        .map(domain_from_row)
        .transpose()
    }

    async fn update_dmarc_domain(
        &self,
        domain: &DmarcDomain,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let updated = query::<B>(
            "UPDATE dmarc_domains SET failure_rate_threshold_pct = $1, updated_at = $2 \
             WHERE org_id = $3 AND id = $4",
        )
        .bind(domain.failure_rate_threshold_pct as i64)
        .bind(domain.updated_at)
        .bind(domain.org_id.as_str())
        .bind(domain.id.as_str())
        .execute(&mut tx)
        .await?
        .rows_affected();
        found(updated)?;
        commit_audited(tx, audit).await
    }

    async fn delete_dmarc_domain(
        &self,
        org: &d::OrgId,
        id: &d::DmarcDomainId,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let deleted = query::<B>("DELETE FROM dmarc_domains WHERE org_id = $1 AND id = $2")
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(&mut tx)
            .await?
            .rows_affected();
        found(deleted)?;
        for table in [
            "dmarc_reports",
            "dmarc_sources",
            "dmarc_imports",
            "tls_reports",
        ] {
            query::<B>(::sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE domain_id = $1"
            )))
            .bind(id.as_str())
            .execute(&mut tx)
            .await?;
        }
        commit_audited(tx, audit).await
    }

    async fn rotate_dmarc_token(
        &self,
        org: &d::OrgId,
        id: &d::DmarcDomainId,
        token_hash: &str,
        previous_valid_until: d::time::Millis,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let rotated = query::<B>(
            "UPDATE dmarc_domains SET previous_token_hash = token_hash, \
             previous_token_expires_at = $1, token_hash = $2 WHERE org_id = $3 AND id = $4",
        )
        .bind(previous_valid_until)
        .bind(token_hash)
        .bind(org.as_str())
        .bind(id.as_str())
        .execute(&mut tx)
        .await?
        .rows_affected();
        found(rotated)?;
        commit_audited(tx, audit).await
    }

    async fn dmarc_domain_by_token(
        &self,
        token_hash: &str,
        now: d::time::Millis,
    ) -> StoreResult<Option<DmarcDomain>> {
        query::<B>(::sqlx::AssertSqlSafe(format!(
            "SELECT {DOMAIN_COLUMNS} FROM dmarc_domains WHERE token_hash = $1 \
             OR (previous_token_hash = $1 AND previous_token_expires_at > $2) LIMIT 1"
        )))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.read_pool())
        .await?
        .as_ref()
        .map(domain_from_row)
        .transpose()
    }

    async fn import_dmarc_report(
        &self,
        domain: &DmarcDomain,
        report: &DmarcReport,
    ) -> StoreResult<ImportOutcome> {
        let summary = &report.summary;
        let policy_domain = summary
            .policy
            .domain
            .clone()
            .unwrap_or_else(|| domain.domain.clone());
        let mut tx = self.begin_maintenance().await?;
        let baseline = query::<B>("SELECT id FROM dmarc_reports WHERE domain_id = $1 LIMIT 1")
            .bind(domain.id.as_str())
            .fetch_optional(&mut tx)
            .await?
            .is_none();
        let inserted = query::<B>(
            "INSERT INTO dmarc_reports (id, org_id, domain_id, reporter_org, external_id, \
             policy_domain, begin_at, end_at, policy_published, message_count, fail_count, \
             rows_skipped, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT DO NOTHING",
        )
        .bind(report.id.as_str())
        .bind(domain.org_id.as_str())
        .bind(domain.id.as_str())
        .bind(&summary.reporter_org)
        .bind(&summary.external_id)
        .bind(&policy_domain)
        .bind(summary.begin_at)
        .bind(summary.end_at)
        .bind(summary.policy.to_json().to_string())
        .bind(summary.message_count as i64)
        .bind(summary.fail_count as i64)
        .bind(summary.rows_skipped as i64)
        .bind(report.received_at)
        .execute(&mut tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            let existing = query::<B>(
                "SELECT id FROM dmarc_reports WHERE org_id = $1 AND reporter_org = $2 \
                 AND external_id = $3 AND policy_domain = $4 AND begin_at = $5 AND end_at = $6",
            )
            .bind(domain.org_id.as_str())
            .bind(&summary.reporter_org)
            .bind(&summary.external_id)
            .bind(&policy_domain)
            .bind(summary.begin_at)
            .bind(summary.end_at)
            .fetch_one(&mut tx)
            .await?;
            return Ok(ImportOutcome::Duplicate {
                id: d::DmarcReportId::from_string(existing.get::<String>("id")?),
            });
        }
        let known = Self::known_sources(&mut tx, &domain.id).await?;
        let new_sources = new_failing_sources(summary, &|ip| known.contains(ip), baseline);
        Self::add_sources(&mut tx, report).await?;
        let now = report.received_at;
        let mut events = 0;
        for (ip, tally) in new_sources.into_iter().take(MAX_NEW_SOURCE_EVENTS) {
            // Known when another domain's reports named the IP before.
            let ptr: Option<String> = query::<B>("SELECT name FROM ptr_names WHERE ip = $1")
                .bind(ip.to_string())
                .fetch_optional(&mut tx)
                .await?
                .map(|row| row.get::<Option<String>>("name"))
                .transpose()?
                .flatten();
            let event = new_source_event(domain, summary, ip, tally, ptr.as_deref(), now);
            queue_routed_event(&mut tx, &event).await?;
            events += 1;
        }
        if summary.failure_rate_exceeds(domain.failure_rate_threshold_pct) {
            // Compare-and-swap: of two nodes importing at once, one wins.
            let won = query::<B>(
                "UPDATE dmarc_domains SET last_failure_rate_alert_at = $1 WHERE id = $2 \
                 AND (last_failure_rate_alert_at IS NULL OR last_failure_rate_alert_at <= $3)",
            )
            .bind(now)
            .bind(domain.id.as_str())
            .bind(now - d::dmarc::FAILURE_RATE_ALERT_EVERY_MS)
            .execute(&mut tx)
            .await?
            .rows_affected()
                == 1;
            if won {
                queue_routed_event(&mut tx, &failure_rate_event(domain, summary, now)).await?;
                events += 1;
            }
        }
        tx.commit().await?;
        Ok(ImportOutcome::Stored {
            id: report.id.clone(),
            events,
        })
    }

    async fn list_dmarc_reports(
        &self,
        org: &d::OrgId,
        domain: &d::DmarcDomainId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<DmarcReport>> {
        let mut query = SqlBuilder::<B>::new(format!(
            "SELECT {REPORT_COLUMNS} FROM dmarc_reports WHERE org_id = "
        ));
        query
            .push_bind(org.as_str())
            .push(" AND domain_id = ")
            .push_bind(domain.as_str());
        newest_first(
            query,
            cursor,
            limit,
            self.read_pool(),
            report_from_row,
            |r| r.id.to_string(),
        )
        .await
    }

    async fn list_dmarc_sources(
        &self,
        org: &d::OrgId,
        domain: &d::DmarcDomainId,
        limit: u32,
    ) -> StoreResult<Vec<DmarcSource>> {
        query::<B>(
            "SELECT s.ip, s.first_seen_at, s.last_seen_at, s.pass_count, s.fail_count, p.name AS ptr \
             FROM dmarc_sources s JOIN dmarc_domains dd ON dd.id = s.domain_id \
             LEFT JOIN ptr_names p ON p.ip = s.ip \
             WHERE dd.org_id = $1 AND s.domain_id = $2 \
             ORDER BY s.last_seen_at DESC, s.ip LIMIT $3",
        )
        .bind(org.as_str())
        .bind(domain.as_str())
        .bind(limit as i64)
        .fetch_all(self.read_pool())
        .await?
        .iter()
        .map(source_from_row)
        .collect()
    }

    async fn record_rejected_import(&self, import: &RejectedImport) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(
            "INSERT INTO dmarc_imports (id, org_id, domain_id, via, reason, size_bytes, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(import.id.as_str())
        .bind(import.org_id.as_str())
        .bind(import.domain_id.as_str())
        .bind(&import.via)
        .bind(&import.reason)
        .bind(import.size_bytes as i64)
        .bind(import.received_at)
        .execute(&mut tx)
        .await?;
        tx.commit().await.map_err(StoreError::from)
    }

    async fn list_rejected_imports(
        &self,
        org: &d::OrgId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<RejectedImport>> {
        let mut query = SqlBuilder::<B>::new(
            "SELECT id, org_id, domain_id, via, reason, size_bytes, received_at \
             FROM dmarc_imports WHERE org_id = "
                .to_string(),
        );
        query.push_bind(org.as_str());
        newest_first(
            query,
            cursor,
            limit,
            self.read_pool(),
            import_from_row,
            |i| i.id.to_string(),
        )
        .await
    }

    async fn insert_tls_report(&self, report: &TlsReport) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let inserted = query::<B>(
            "INSERT INTO tls_reports (id, org_id, domain_id, organization, report_id, begin_text, \
             end_text, successful_sessions, failed_sessions, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
        )
        .bind(d::DmarcImportId::generate().as_str())
        .bind(report.org_id.as_str())
        .bind(report.domain_id.as_str())
        .bind(&report.organization)
        .bind(&report.report_id)
        .bind(&report.begin)
        .bind(&report.end)
        .bind(report.successful_sessions as i64)
        .bind(report.failed_sessions as i64)
        .bind(report.received_at)
        .execute(&mut tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(inserted == 1)
    }

    async fn prune_dmarc_reports(
        &self,
        org: &d::OrgId,
        before: d::time::Millis,
    ) -> StoreResult<u64> {
        let mut tx = self.begin_maintenance().await?;
        let deleted = query::<B>("DELETE FROM dmarc_reports WHERE org_id = $1 AND end_at < $2")
            .bind(org.as_str())
            .bind(before)
            .execute(&mut tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }

    async fn ips_needing_ptr(
        &self,
        stale_before: d::time::Millis,
        limit: u32,
    ) -> StoreResult<Vec<IpAddr>> {
        query::<B>(
            "SELECT DISTINCT s.ip FROM dmarc_sources s LEFT JOIN ptr_names p ON p.ip = s.ip \
             WHERE p.ip IS NULL OR p.checked_at < $1 LIMIT $2",
        )
        .bind(stale_before)
        .bind(limit as i64)
        .fetch_all(self.read_pool())
        .await?
        .iter()
        .map(|row| {
            let ip: String = row.get("ip")?;
            ip.parse()
                .map_err(|_| StoreError::Corrupt(format!("dmarc source ip {ip:?}")))
        })
        .collect()
    }

    async fn record_ptr(
        &self,
        ip: IpAddr,
        name: Option<&str>,
        checked_at: d::time::Millis,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(
            "INSERT INTO ptr_names (ip, name, checked_at) VALUES ($1, $2, $3) \
             ON CONFLICT (ip) DO UPDATE SET name = excluded.name, checked_at = excluded.checked_at",
        )
        .bind(ip.to_string())
        .bind(name)
        .bind(checked_at)
        .execute(&mut tx)
        .await?;
        tx.commit().await.map_err(StoreError::from)
    }
}
