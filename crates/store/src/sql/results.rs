//! Check outcomes: results, monitor state, heartbeats, registrations and
//! served certificates.

use certsentry_domain as d;

use super::stats::*;
use super::*;
use crate::*;

pub(super) fn result_from_row<B: SqlBackend>(
    row: &SqlRow<B>,
) -> StoreResult<d::check::CheckResult> {
    let check_type: String = row.get("check_type")?;
    let status: String = row.get("status")?;
    Ok(d::check::CheckResult {
        id: d::ResultId::from_string(row.get::<String>("id")?),
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        monitor_id: d::MonitorId::from_string(row.get::<String>("monitor_id")?),
        check_type: d::check::CheckType::parse(&check_type)
            .ok_or_else(|| StoreError::Corrupt(format!("check_type {check_type}")))?,
        status: d::check::CheckStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {status}")))?,
        degraded: row.get("degraded")?,
        region: row.get("region")?,
        latency_ms: row.get::<Option<i64>>("latency_ms")?.map(|v| v as u32),
        http_status: row.get::<Option<i64>>("http_status")?.map(|v| v as u16),
        error: row.get("error")?,
        details: decode_json(&row.get::<String>("details")?)?,
        created_at: row.get("created_at")?,
    })
}

/// Inserts results and bumps the daily rollups of availability checks.
/// Inserts results with one multi-row INSERT per chunk: a batch of
/// pings or checks costs a few statements, not one per row.
pub(super) async fn insert_result_rows<B: SqlBackend>(
    tx: &mut Tx<B>,
    results: &[d::check::CheckResult],
) -> StoreResult<()> {
    // 12 binds a row; SQLite allows 32,766 and Postgres 65,535 per statement.
    for chunk in results.chunks(1000) {
        let mut query =
            SqlBuilder::<B>::new(format!("INSERT INTO check_results ({RESULT_COLUMNS}) "));
        query.push_values(chunk, |mut row, r| {
            bind_result(&mut row, r);
        });
        query.build().execute(&mut *tx).await?;
    }
    let availability: Vec<&d::check::CheckResult> = results
        .iter()
        .filter(|r| {
            matches!(
                r.check_type,
                d::check::CheckType::Uptime | d::check::CheckType::Tcp
            )
        })
        .collect();
    bump_daily_stats(tx, &availability).await
}

/// Binds a result's columns in `check_results`' order, which the ping
/// journal's first columns repeat.
pub(super) fn bind_result<B: SqlBackend>(row: &mut ValuesRow<'_, B>, r: &d::check::CheckResult) {
    row.push_bind(r.id.as_str())
        .push_bind(r.org_id.as_str())
        .push_bind(r.monitor_id.as_str())
        .push_bind(r.check_type.as_str())
        .push_bind(r.status.as_str())
        .push_bind(r.degraded)
        .push_bind(r.region.as_deref())
        .push_bind(r.latency_ms.map(i64::from))
        .push_bind(r.http_status.map(i64::from))
        .push_bind(r.error.as_deref())
        .push_bind(r.details.to_string())
        .push_bind(r.created_at);
}

/// Upserts pings, one multi-row statement per chunk. The caller
/// passes at most one ping per monitor (an upsert may not touch a
/// row twice).
pub(super) async fn upsert_pings<B: SqlBackend>(
    tx: &mut Tx<B>,
    pings: &[&HeartbeatState],
) -> StoreResult<()> {
    for chunk in pings.chunks(1000) {
        let mut query = SqlBuilder::<B>::new(
            "INSERT INTO heartbeats (monitor_id, org_id, last_ping_at, last_ping_ok, missed) ",
        );
        query.push_values(chunk, |mut row, p| {
            row.push_bind(p.monitor_id.as_str())
                .push_bind(p.org_id.as_str())
                .push_bind(p.last_ping_at)
                .push_bind(p.last_ping_ok)
                .push_bind(false);
        });
        // A ping older than the stored one (a journaled ping folded after
        // a later one was written directly) changes nothing.
        query.push(
            " ON CONFLICT (monitor_id) DO UPDATE SET last_ping_at = excluded.last_ping_at, \
             last_ping_ok = excluded.last_ping_ok, missed = FALSE \
             WHERE excluded.last_ping_at >= heartbeats.last_ping_at",
        );
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}

pub(super) async fn update_state<B: SqlBackend>(
    tx: &mut Tx<B>,
    org: &d::OrgId,
    id: &d::MonitorId,
    state: &MonitorState,
) -> StoreResult<()> {
    let done = query::<B>("UPDATE monitors SET last_status = $1, ssl_not_after = $2, domain_expiry = $3 WHERE org_id = $4 AND id = $5")
        .bind(state.last_status.as_str())
        .bind(state.ssl_not_after)
        .bind(state.domain_expiry)
        .bind(org.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        ?;
    found(done.rows_affected())?;
    Ok(())
}

/// Stores an SSL check's verdict as the monitor's certificate.
async fn upsert_verdict<B: SqlBackend>(
    tx: &mut Tx<B>,
    cert: &MonitorCertificate,
) -> StoreResult<()> {
    query::<B>(
        "INSERT INTO monitor_certificates (monitor_id, org_id, valid, error, issuer, not_after, sha256, checked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (monitor_id) DO UPDATE SET valid = excluded.valid, error = excluded.error, \
         issuer = excluded.issuer, not_after = excluded.not_after, sha256 = excluded.sha256, \
         checked_at = excluded.checked_at",
    )
    .bind(cert.monitor_id.as_str())
    .bind(cert.org_id.as_str())
    .bind(cert.valid)
    .bind(cert.error.as_deref())
    .bind(cert.issuer.as_deref())
    .bind(cert.not_after)
    .bind(cert.sha256.as_deref())
    .bind(cert.checked_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Adds a served certificate to the organization's inventory, or moves
/// its last sighting.
async fn upsert_served<B: SqlBackend>(
    tx: &mut Tx<B>,
    org: &d::OrgId,
    served: &ServedCertificate,
) -> StoreResult<()> {
    query::<B>(
        "INSERT INTO served_certificates (org_id, sha256, spki_sha256, not_after, first_seen_at, last_seen_at, tbs_sha256) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (org_id, sha256) DO UPDATE SET last_seen_at = excluded.last_seen_at, \
         tbs_sha256 = COALESCE(served_certificates.tbs_sha256, excluded.tbs_sha256)",
    )
    .bind(org.as_str())
    .bind(&served.sha256)
    .bind(&served.spki_sha256)
    .bind(served.not_after)
    .bind(served.first_seen_at)
    .bind(served.last_seen_at)
    .bind(served.tbs_sha256.as_deref())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Writes the certificates SSL checks saw in a batch of `records` (already
/// in monitor order): the verdicts in that order, then the inventory in
/// (organization, fingerprint) order, so that two batches sharing a
/// certificate (on Postgres, two nodes' writers) lock its row in the same
/// order and cannot deadlock.
async fn record_seen_certificates<B: SqlBackend>(
    tx: &mut Tx<B>,
    records: &[&CheckRecord],
) -> StoreResult<()> {
    let seen: Vec<&CertificateSeen> = records
        .iter()
        .filter_map(|r| r.certificate.as_ref())
        .collect();
    for certificate in &seen {
        upsert_verdict(tx, &certificate.verdict).await?;
    }
    let mut served: Vec<(&d::OrgId, &ServedCertificate)> = seen
        .iter()
        .filter_map(|c| c.served.as_ref().map(|s| (&c.verdict.org_id, s)))
        .collect();
    served.sort_by(|a, b| (a.0.as_str(), &a.1.sha256).cmp(&(b.0.as_str(), &b.1.sha256)));
    for (org, certificate) in served {
        upsert_served(tx, org, certificate).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl<B: SqlBackend> CheckStore for SqlStore<B> {
    async fn record_check(
        &self,
        results: &[d::check::CheckResult],
        org: &d::OrgId,
        monitor: &d::MonitorId,
        state: &MonitorState,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_result_rows(&mut tx, results).await?;
        update_state(&mut tx, org, monitor, state).await?;
        tx.commit().await.map_err(StoreError::from)
    }

    async fn record_checks(&self, batch: &[CheckRecord]) -> StoreResult<()> {
        // Healthy pings go to the journal, whose fold checks that their
        // monitors still exist; the rest is written in place. The journal
        // commits on its own writer first: should the in-place write then
        // fail, a retry appends those pings again, which a fold stores once
        // (result ids are unique, and a heartbeat takes the latest ping).
        let journals = self.journals_pings();
        let (journaled, batch): (Vec<&CheckRecord>, Vec<&CheckRecord>) = batch
            .iter()
            .partition(|r| journals && super::ping_journal::journaled(r));
        self.append_pings(&journaled).await?;
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        // Outcomes of monitors deleted meanwhile are dropped, so
        // no history outlives its monitor.
        let mut ids: Vec<&str> = batch.iter().map(|r| r.monitor_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut live = ::std::collections::HashSet::new();
        for chunk in ids.chunks(1000) {
            for row in fetch_in(&mut tx, "id", "monitors", "id", chunk).await? {
                live.insert(row.get::<String>("id")?);
            }
        }
        let mut kept: Vec<&CheckRecord> = batch
            .into_iter()
            .filter(|r| live.contains(r.monitor_id.as_str()))
            .collect();
        // In monitor order (stable: one monitor's records keep theirs), so
        // two batches written at once (on Postgres, the writers of nodes
        // sharing the database) lock the monitor and heartbeat rows they
        // share in the same order and cannot deadlock.
        kept.sort_by_key(|r| r.monitor_id.as_str());
        let results: Vec<d::check::CheckResult> = kept
            .iter()
            .flat_map(|r| r.results.iter().cloned())
            .collect();
        insert_result_rows(&mut tx, &results).await?;
        for record in &kept {
            if let Some(state) = &record.state {
                update_state(&mut tx, &record.org_id, &record.monitor_id, state).await?;
            }
        }
        record_seen_certificates(&mut tx, &kept).await?;
        // The latest ping per monitor wins; the map keeps monitor order.
        let mut pings: ::std::collections::BTreeMap<&str, &HeartbeatState> =
            ::std::collections::BTreeMap::new();
        for ping in kept.iter().filter_map(|r| r.ping.as_ref()) {
            let slot = pings.entry(ping.monitor_id.as_str()).or_insert(ping);
            if ping.last_ping_at >= slot.last_ping_at {
                *slot = ping;
            }
        }
        let pings: Vec<&HeartbeatState> = pings.into_values().collect();
        upsert_pings(&mut tx, &pings).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl<B: SqlBackend> ResultStore for SqlStore<B> {
    async fn insert_results(&self, results: &[d::check::CheckResult]) -> StoreResult<()> {
        if results.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        insert_result_rows(&mut tx, results).await?;
        tx.commit().await.map_err(StoreError::from)
    }

    async fn last_checked_at(
        &self,
        monitors: &[d::MonitorId],
    ) -> StoreResult<Vec<(d::MonitorId, d::time::Millis)>> {
        self.settle_pings().await?;
        // A scalar subquery per monitor: each is one probe of the
        // (monitor_id, id) index, where a GROUP BY would scan every result
        // of every monitor.
        let mut found = Vec::new();
        for chunk in monitors.chunks(100) {
            let mut statement = SqlBuilder::<B>::new("");
            for (i, monitor) in chunk.iter().enumerate() {
                if i > 0 {
                    statement.push(" UNION ALL ");
                }
                statement
                    .push("SELECT ")
                    .push_bind(monitor.as_str())
                    .push(
                        " AS monitor_id, (SELECT created_at FROM check_results WHERE monitor_id = ",
                    )
                    .push_bind(monitor.as_str())
                    .push(" ORDER BY id DESC LIMIT 1) AS at");
            }
            for row in statement.build().fetch_all(self.read_pool()).await? {
                if let Some(at) = row.get::<Option<i64>>("at")? {
                    found.push((
                        d::MonitorId::from_string(row.get::<String>("monitor_id")?),
                        at,
                    ));
                }
            }
        }
        Ok(found)
    }

    async fn list_results(
        &self,
        org: &d::OrgId,
        monitor: &d::MonitorId,
        q: &ResultQuery,
    ) -> StoreResult<Page<d::check::CheckResult>> {
        self.settle_pings().await?;
        let mut query = SqlBuilder::<B>::new(format!(
            "SELECT {RESULT_COLUMNS} FROM check_results WHERE org_id = "
        ));
        query.push_bind(org.as_str());
        query.push(" AND monitor_id = ").push_bind(monitor.as_str());
        if let Some(t) = q.check_type {
            query.push(" AND check_type = ").push_bind(t.as_str());
        }
        if let Some(s) = q.status {
            query.push(" AND status = ").push_bind(s.as_str());
        }
        if let Some(since) = q.since {
            query.push(" AND created_at >= ").push_bind(since);
        }
        newest_first(
            query,
            q.cursor.as_deref(),
            q.limit,
            self.read_pool(),
            result_from_row,
            |r| r.id.to_string(),
        )
        .await
    }

    async fn prune_results(&self, before: d::time::Millis) -> StoreResult<u64> {
        let mut tx = self.begin_maintenance().await?;
        // Ids sort by creation time: the primary key serves as the time index.
        let done = query::<B>("DELETE FROM check_results WHERE id < $1")
            .bind(d::id::floor_at(before))
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

#[async_trait::async_trait]
impl<B: SqlBackend> HeartbeatStore for SqlStore<B> {
    async fn record_heartbeat_ping(&self, state: &HeartbeatState) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        upsert_pings(&mut tx, &[state]).await?;
        tx.commit().await.map_err(StoreError::from)
    }

    async fn list_heartbeat_states(&self) -> StoreResult<Vec<HeartbeatState>> {
        self.settle_pings().await?;
        query::<B>("SELECT monitor_id, org_id, last_ping_at, last_ping_ok, missed FROM heartbeats ORDER BY monitor_id")
            .fetch_all(self.read_pool())
            .await
            ?
            .iter()
            .map(|row| {
                Ok(HeartbeatState {
                    monitor_id: d::MonitorId::from_string(row.get::<String>("monitor_id")?),
                    org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
                    last_ping_at: row.get("last_ping_at")?,
                    last_ping_ok: row.get("last_ping_ok")?,
                    missed: row.get("missed")?,
                })
            })
            .collect()
    }

    async fn claim_heartbeat_missed(
        &self,
        monitor: &d::MonitorId,
        last_ping_at: d::time::Millis,
    ) -> StoreResult<bool> {
        // A newer ping still in the journal must defeat the claim.
        self.settle_pings().await?;
        let mut tx = self.begin_write().await?;
        let done = query::<B>(
            "UPDATE heartbeats SET missed = TRUE WHERE monitor_id = $1 AND last_ping_at = $2 AND missed = FALSE",
        )
        .bind(monitor.as_str())
        .bind(last_ping_at)
        .execute(&mut tx)
        .await
        ?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait::async_trait]
impl<B: SqlBackend> RegistrationStore for SqlStore<B> {
    async fn get_domain_registration(
        &self,
        domain: &str,
    ) -> StoreResult<Option<DomainRegistration>> {
        let row = query::<B>(
            "SELECT domain, checked_at, expires_at, source, server, error FROM domain_registrations WHERE domain = $1",
        )
        .bind(domain)
        .fetch_optional(self.read_pool())
        .await
        ?;
        row.map(|row| -> StoreResult<DomainRegistration> {
            Ok(DomainRegistration {
                domain: row.get("domain")?,
                checked_at: row.get("checked_at")?,
                expires_at: row.get("expires_at")?,
                source: row.get("source")?,
                server: row.get("server")?,
                error: row.get("error")?,
            })
        })
        .transpose()
    }

    async fn claim_domain_lookup(
        &self,
        domain: &str,
        now: d::time::Millis,
        stale_before: d::time::Millis,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = query::<B>(
            "INSERT INTO domain_registrations (domain, checked_at) VALUES ($1, $2) \
             ON CONFLICT (domain) DO UPDATE SET checked_at = $2 \
             WHERE domain_registrations.checked_at < $3",
        )
        .bind(domain)
        .bind(now)
        .bind(stale_before)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_domain_lookup(&self, r: &DomainRegistration) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(
            "UPDATE domain_registrations SET expires_at = $2, source = $3, server = $4, error = $5 WHERE domain = $1",
        )
        .bind(&r.domain)
        .bind(r.expires_at)
        .bind(r.source.as_deref())
        .bind(r.server.as_deref())
        .bind(r.error.as_deref())
        .execute(&mut tx)
        .await
        ?;
        tx.commit().await.map_err(StoreError::from)
    }
}

#[async_trait::async_trait]
impl<B: SqlBackend> CertificateStore for SqlStore<B> {
    async fn list_monitor_certificates(
        &self,
        org: &d::OrgId,
    ) -> StoreResult<Vec<MonitorCertificate>> {
        let rows = query::<B>(
            "SELECT monitor_id, org_id, valid, error, issuer, not_after, sha256, checked_at \
             FROM monitor_certificates WHERE org_id = $1",
        )
        .bind(org.as_str())
        .fetch_all(self.read_pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MonitorCertificate {
                    monitor_id: d::MonitorId::from_string(row.get::<String>("monitor_id")?),
                    org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
                    valid: row.get("valid")?,
                    error: row.get("error")?,
                    issuer: row.get("issuer")?,
                    not_after: row.get("not_after")?,
                    sha256: row.get("sha256")?,
                    checked_at: row.get("checked_at")?,
                })
            })
            .collect()
    }

    async fn is_served_certificate(&self, org: &d::OrgId, sha256: &str) -> StoreResult<bool> {
        let found = query::<B>(
            "SELECT 1 AS one FROM served_certificates WHERE org_id = $1 AND sha256 = $2",
        )
        .bind(org.as_str())
        .bind(sha256)
        .fetch_optional(self.read_pool())
        .await?;
        Ok(found.is_some())
    }
}
