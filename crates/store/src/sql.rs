//! SQL shared by the SQLite and Postgres backends.
//!
//! [`sql_store_impl!`] expands to `impl Store for $backend`. The backend type
//! must provide three inherent items:
//! - `fn read_pool(&self) -> &sqlx::Pool<DB>`;
//! - `async fn begin_write(&self) -> Result<sqlx::Transaction<'static, DB>, sqlx::Error>`
//!   (SQLite takes its single writer with `BEGIN IMMEDIATE`);
//! - `const LOCK_ORG: &'static str`, a query on `$1` = org id that serializes
//!   quota-checked writes per organization (`FOR UPDATE` on Postgres).

pub use certsentry_domain as domain;

use certsentry_domain::monitor::MonitorSpec;

use crate::StoreError;

/// Decodes a stored monitor definition.
pub fn decode_spec(json: &str) -> Result<MonitorSpec, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("monitor spec: {e}")))
}

pub fn encode_spec(spec: &MonitorSpec) -> String {
    serde_json::to_string(spec).expect("a monitor spec always serializes")
}

pub fn decode_json(json: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("json column: {e}")))
}

/// Cuts a page of `limit` from `items` (fetched with `limit + 1` rows) and
/// names the next cursor when there is more.
pub fn paginate<T>(mut items: Vec<T>, limit: u32, id_of: impl Fn(&T) -> String) -> crate::Page<T> {
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(&id_of)
    } else {
        None
    };
    crate::Page { items, next_cursor }
}

/// The columns `monitor_from_row` reads, in one place.
pub const MONITOR_COLUMNS: &str = "id, org_id, kind, enabled, external_id, environment_id, spec, \
    heartbeat_token, last_status, ssl_not_after, domain_expiry, created_at, updated_at";

pub const API_KEY_COLUMNS: &str =
    "id, org_id, name, key_hash, hint, read_only, created_at, last_used_at, revoked_at";

pub const RESULT_COLUMNS: &str = "id, org_id, monitor_id, check_type, status, degraded, region, \
    latency_ms, http_status, error, details, created_at";

pub const AUDIT_COLUMNS: &str =
    "id, org_id, action, actor_id, actor_name, target_type, target_id, metadata, created_at";

#[macro_export]
macro_rules! sql_store_impl {
    ($backend:ty, $db:ty) => {
        mod __sql_store_impl {
            use super::*;
            use ::sqlx::Row as _;
            use $crate::sql::domain as d;
            use $crate::sql::{API_KEY_COLUMNS, AUDIT_COLUMNS, MONITOR_COLUMNS, RESULT_COLUMNS, paginate};
            use $crate::{
                AuditQuery, HeartbeatState, MonitorCertificate, MonitorQuery, MonitorState, Page, ResultQuery,
                ServedCertificate, Store, StoreError, StoreResult, SyncChanges,
            };

            type Db = $db;
            type Row = <Db as ::sqlx::Database>::Row;
            type Tx = ::sqlx::Transaction<'static, Db>;

            pub(crate) fn backend_err(e: ::sqlx::Error) -> StoreError {
                StoreError::Backend(Box::new(e))
            }

            /// Maps a unique violation to `Conflict(what)`, anything else to `Backend`.
            fn conflict_or(what: &'static str) -> impl Fn(::sqlx::Error) -> StoreError {
                move |e| match &e {
                    ::sqlx::Error::Database(db) if db.is_unique_violation() => {
                        StoreError::Conflict(what)
                    }
                    _ => backend_err(e),
                }
            }

            /// Finishes a newest-first listing: rows before `cursor` (ids sort
            /// by time), at most `limit`, and the cursor of the next page.
            pub(crate) async fn newest_first<T>(
                mut query: ::sqlx::QueryBuilder<Db>,
                cursor: Option<&str>,
                limit: u32,
                pool: &::sqlx::Pool<Db>,
                from_row: impl Fn(&Row) -> StoreResult<T>,
                id_of: impl Fn(&T) -> String,
            ) -> StoreResult<Page<T>> {
                if let Some(cursor) = cursor {
                    query.push(" AND id < ").push_bind(cursor.to_string());
                }
                query.push(" ORDER BY id DESC LIMIT ").push_bind(limit as i64 + 1);
                let rows = query.build().fetch_all(pool).await.map_err(backend_err)?;
                let items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
                Ok(paginate(items, limit, id_of))
            }

            pub(crate) fn get<'r, T>(row: &'r Row, col: &str) -> StoreResult<T>
            where
                T: ::sqlx::Decode<'r, Db> + ::sqlx::Type<Db>,
            {
                row.try_get(col)
                    .map_err(|e| StoreError::Corrupt(format!("column {col}: {e}")))
            }

            fn org_from_row(row: &Row) -> StoreResult<d::org::Org> {
                Ok(d::org::Org {
                    id: d::OrgId::from_string(get::<String>(row, "id")?),
                    name: get(row, "name")?,
                    plan: get(row, "plan")?,
                    created_at: get(row, "created_at")?,
                })
            }

            fn key_from_row(row: &Row) -> StoreResult<d::apikey::ApiKey> {
                Ok(d::apikey::ApiKey {
                    id: d::ApiKeyId::from_string(get::<String>(row, "id")?),
                    org_id: d::OrgId::from_string(get::<String>(row, "org_id")?),
                    name: get(row, "name")?,
                    hash: get(row, "key_hash")?,
                    hint: get(row, "hint")?,
                    read_only: get(row, "read_only")?,
                    created_at: get(row, "created_at")?,
                    last_used_at: get(row, "last_used_at")?,
                    revoked_at: get(row, "revoked_at")?,
                })
            }

            fn env_from_row(row: &Row) -> StoreResult<d::org::Environment> {
                Ok(d::org::Environment {
                    id: d::EnvironmentId::from_string(get::<String>(row, "id")?),
                    org_id: d::OrgId::from_string(get::<String>(row, "org_id")?),
                    name: get(row, "name")?,
                    created_at: get(row, "created_at")?,
                })
            }

            fn monitor_from_row(row: &Row) -> StoreResult<d::monitor::Monitor> {
                let mut spec = $crate::sql::decode_spec(&get::<String>(row, "spec")?)?;
                // The columns are the truth for what can change outside a definition
                // update (an environment's deletion detaches its monitors).
                spec.environment_id = get::<Option<String>>(row, "environment_id")?
                    .map(d::EnvironmentId::from_string);
                let status: String = get(row, "last_status")?;
                Ok(d::monitor::Monitor {
                    id: d::MonitorId::from_string(get::<String>(row, "id")?),
                    org_id: d::OrgId::from_string(get::<String>(row, "org_id")?),
                    spec,
                    heartbeat_token: get(row, "heartbeat_token")?,
                    last_status: d::monitor::MonitorStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("last_status {status}")))?,
                    ssl_not_after: get(row, "ssl_not_after")?,
                    domain_expiry: get(row, "domain_expiry")?,
                    created_at: get(row, "created_at")?,
                    updated_at: get(row, "updated_at")?,
                })
            }

            fn audit_from_row(row: &Row) -> StoreResult<d::audit::AuditEvent> {
                Ok(d::audit::AuditEvent {
                    id: d::AuditId::from_string(get::<String>(row, "id")?),
                    org_id: d::OrgId::from_string(get::<String>(row, "org_id")?),
                    action: get(row, "action")?,
                    actor: d::audit::Actor {
                        id: get(row, "actor_id")?,
                        name: get(row, "actor_name")?,
                    },
                    target_type: get(row, "target_type")?,
                    target_id: get(row, "target_id")?,
                    metadata: $crate::sql::decode_json(&get::<String>(row, "metadata")?)?,
                    created_at: get(row, "created_at")?,
                })
            }

            fn result_from_row(row: &Row) -> StoreResult<d::check::CheckResult> {
                let check_type: String = get(row, "check_type")?;
                let status: String = get(row, "status")?;
                Ok(d::check::CheckResult {
                    id: d::ResultId::from_string(get::<String>(row, "id")?),
                    org_id: d::OrgId::from_string(get::<String>(row, "org_id")?),
                    monitor_id: d::MonitorId::from_string(get::<String>(row, "monitor_id")?),
                    check_type: d::check::CheckType::parse(&check_type)
                        .ok_or_else(|| StoreError::Corrupt(format!("check_type {check_type}")))?,
                    status: d::check::CheckStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("status {status}")))?,
                    degraded: get(row, "degraded")?,
                    region: get(row, "region")?,
                    latency_ms: get::<Option<i64>>(row, "latency_ms")?.map(|v| v as u32),
                    http_status: get::<Option<i64>>(row, "http_status")?.map(|v| v as u16),
                    error: get(row, "error")?,
                    details: $crate::sql::decode_json(&get::<String>(row, "details")?)?,
                    created_at: get(row, "created_at")?,
                })
            }

            pub(crate) async fn insert_audit(tx: &mut Tx, e: &d::audit::AuditEvent) -> StoreResult<()> {
                super::__sql_alert_impl::stream_audit(tx, e).await?;
                ::sqlx::query(
                    "INSERT INTO audit_events (id, org_id, action, actor_id, actor_name, \
                     target_type, target_id, metadata, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(e.id.as_str())
                .bind(e.org_id.as_str())
                .bind(&e.action)
                .bind(&e.actor.id)
                .bind(&e.actor.name)
                .bind(&e.target_type)
                .bind(&e.target_id)
                .bind(e.metadata.to_string())
                .bind(e.created_at)
                .execute(&mut **tx)
                .await
                .map_err(backend_err)?;
                Ok(())
            }

/// Adds one availability result to its monitor's day (portable SQL: no
            /// GREATEST/MAX, which differ between SQLite and Postgres).
            async fn bump_daily_stats(tx: &mut Tx, r: &d::check::CheckResult) -> StoreResult<()> {
                let latency = r.latency_ms.map(i64::from);
                ::sqlx::query(
                    "INSERT INTO daily_stats (monitor_id, org_id, day, total_checks, failed_checks, degraded_checks, \
                     latency_sum_ms, latency_count, max_latency_ms, p50_latency_ms, p95_latency_ms, finalized) \
                     VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, NULL, NULL, FALSE) \
                     ON CONFLICT (monitor_id, day) DO UPDATE SET \
                     total_checks = daily_stats.total_checks + 1, \
                     failed_checks = daily_stats.failed_checks + excluded.failed_checks, \
                     degraded_checks = daily_stats.degraded_checks + excluded.degraded_checks, \
                     latency_sum_ms = daily_stats.latency_sum_ms + excluded.latency_sum_ms, \
                     latency_count = daily_stats.latency_count + excluded.latency_count, \
                     max_latency_ms = CASE WHEN excluded.max_latency_ms > daily_stats.max_latency_ms \
                       THEN excluded.max_latency_ms ELSE daily_stats.max_latency_ms END",
                )
                .bind(r.monitor_id.as_str())
                .bind(r.org_id.as_str())
                .bind(d::time::day_of(r.created_at))
                .bind(i64::from(r.status == d::check::CheckStatus::Fail))
                .bind(i64::from(r.degraded))
                .bind(latency.unwrap_or(0))
                .bind(i64::from(latency.is_some()))
                .bind(latency.unwrap_or(0))
                .execute(&mut **tx)
                .await
                .map_err(backend_err)?;
                Ok(())
            }

            fn stats_from_row(row: &Row) -> StoreResult<d::stats::DailyStats> {
                Ok(d::stats::DailyStats {
                    day: get(row, "day")?,
                    total_checks: get::<i64>(row, "total_checks")? as u64,
                    failed_checks: get::<i64>(row, "failed_checks")? as u64,
                    degraded_checks: get::<i64>(row, "degraded_checks")? as u64,
                    latency_sum_ms: get::<i64>(row, "latency_sum_ms")? as u64,
                    latency_count: get::<i64>(row, "latency_count")? as u64,
                    max_latency_ms: get::<i64>(row, "max_latency_ms")? as u32,
                    p50_latency_ms: get::<Option<i64>>(row, "p50_latency_ms")?.map(|v| v as u32),
                    p95_latency_ms: get::<Option<i64>>(row, "p95_latency_ms")?.map(|v| v as u32),
                    finalized: get(row, "finalized")?,
                })
            }

            /// Inserts results and bumps the daily rollups of availability checks.
            /// Inserts results with one multi-row INSERT per chunk: a batch of
            /// pings or checks costs a few statements, not one per row.
            async fn insert_result_rows(tx: &mut Tx, results: &[d::check::CheckResult]) -> StoreResult<()> {
                // 12 binds a row; SQLite allows 32,766 and Postgres 65,535 per statement.
                for chunk in results.chunks(1000) {
                    let mut query = ::sqlx::QueryBuilder::<Db>::new(
                        "INSERT INTO check_results (id, org_id, monitor_id, check_type, status, degraded, \
                         region, latency_ms, http_status, error, details, created_at) ",
                    );
                    query.push_values(chunk, |mut row, r| {
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
                    });
                    query.build().execute(&mut **tx).await.map_err(backend_err)?;
                }
                for r in results {
                    if matches!(r.check_type, d::check::CheckType::Uptime | d::check::CheckType::Tcp) {
                        bump_daily_stats(tx, r).await?;
                    }
                }
                Ok(())
            }

            /// Upserts pings, one multi-row statement per chunk. The caller
            /// passes at most one ping per monitor (an upsert may not touch a
            /// row twice).
            async fn upsert_pings(tx: &mut Tx, pings: &[&HeartbeatState]) -> StoreResult<()> {
                for chunk in pings.chunks(1000) {
                    let mut query = ::sqlx::QueryBuilder::<Db>::new(
                        "INSERT INTO heartbeats (monitor_id, org_id, last_ping_at, last_ping_ok, missed) ",
                    );
                    query.push_values(chunk, |mut row, p| {
                        row.push_bind(p.monitor_id.as_str())
                            .push_bind(p.org_id.as_str())
                            .push_bind(p.last_ping_at)
                            .push_bind(p.last_ping_ok)
                            .push_bind(false);
                    });
                    query.push(
                        " ON CONFLICT (monitor_id) DO UPDATE SET last_ping_at = excluded.last_ping_at, \
                         last_ping_ok = excluded.last_ping_ok, missed = FALSE",
                    );
                    query.build().execute(&mut **tx).await.map_err(backend_err)?;
                }
                Ok(())
            }

            async fn update_state(tx: &mut Tx, org: &d::OrgId, id: &d::MonitorId, state: &MonitorState) -> StoreResult<()> {
                let done = ::sqlx::query("UPDATE monitors SET last_status = $1, ssl_not_after = $2, domain_expiry = $3 WHERE org_id = $4 AND id = $5")
                    .bind(state.last_status.as_str())
                    .bind(state.ssl_not_after)
                    .bind(state.domain_expiry)
                    .bind(org.as_str())
                    .bind(id.as_str())
                    .execute(&mut **tx)
                    .await
                    .map_err(backend_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn lock_org(tx: &mut Tx, org: &d::OrgId) -> StoreResult<()> {
                let found = ::sqlx::query(<$backend>::LOCK_ORG)
                    .bind(org.as_str())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(backend_err)?;
                found.map(|_| ()).ok_or(StoreError::NotFound)
            }

            async fn count_in(tx: &mut Tx, table_sql: &'static str, org: &d::OrgId) -> StoreResult<u64> {
                let row = ::sqlx::query(table_sql)
                    .bind(org.as_str())
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(backend_err)?;
                Ok(get::<i64>(&row, "n")? as u64)
            }

            const COUNT_MONITORS: &str = "SELECT COUNT(*) AS n FROM monitors WHERE org_id = $1";
            const COUNT_PAGES: &str = "SELECT COUNT(*) AS n FROM status_pages WHERE org_id = $1";

            async fn insert_monitor(tx: &mut Tx, m: &d::monitor::Monitor) -> StoreResult<()> {
                let spec = &m.spec;
                ::sqlx::query(
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
                .bind($crate::sql::encode_spec(spec))
                .bind(m.heartbeat_token.as_deref())
                .bind(m.last_status.as_str())
                .bind(m.ssl_not_after)
                .bind(m.domain_expiry)
                .bind(m.created_at)
                .bind(m.updated_at)
                .execute(&mut **tx)
                .await
                .map_err(conflict_or("externalId"))?;
                Ok(())
            }

            async fn update_monitor_row(tx: &mut Tx, m: &d::monitor::Monitor) -> StoreResult<()> {
                let spec = &m.spec;
                let done = ::sqlx::query(
                    "UPDATE monitors SET enabled = $1, external_id = $2, environment_id = $3, \
                     spec = $4, updated_at = $5 WHERE org_id = $6 AND id = $7",
                )
                .bind(spec.enabled)
                .bind(spec.external_id.as_deref())
                .bind(spec.environment_id.as_ref().map(|e| e.as_str()))
                .bind($crate::sql::encode_spec(spec))
                .bind(m.updated_at)
                .bind(m.org_id.as_str())
                .bind(m.id.as_str())
                .execute(&mut **tx)
                .await
                .map_err(conflict_or("externalId"))?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn delete_monitor_row(tx: &mut Tx, org: &d::OrgId, id: &d::MonitorId) -> StoreResult<()> {
                // Explicit rather than ON DELETE CASCADE alone, so the behaviour does
                // not depend on SQLite's foreign_keys pragma.
                ::sqlx::query("DELETE FROM status_page_monitors WHERE monitor_id = $1 AND monitor_id IN (SELECT id FROM monitors WHERE org_id = $2)")
                    .bind(id.as_str())
                    .bind(org.as_str())
                    .execute(&mut **tx)
                    .await
                    .map_err(backend_err)?;
                // Everything else a monitor owns: its history and check state.
                for owned in [
                    "DELETE FROM check_results WHERE org_id = $1 AND monitor_id = $2",
                    "DELETE FROM heartbeats WHERE org_id = $1 AND monitor_id = $2",
                    "DELETE FROM daily_stats WHERE org_id = $1 AND monitor_id = $2",
                    "DELETE FROM monitor_certificates WHERE org_id = $1 AND monitor_id = $2",
                    "DELETE FROM alert_state WHERE monitor_id IN (SELECT id FROM monitors WHERE org_id = $1 AND id = $2)",
                ] {
                    ::sqlx::query(owned)
                        .bind(org.as_str())
                        .bind(id.as_str())
                        .execute(&mut **tx)
                        .await
                        .map_err(backend_err)?;
                }
                let done = ::sqlx::query("DELETE FROM monitors WHERE org_id = $1 AND id = $2")
                    .bind(org.as_str())
                    .bind(id.as_str())
                    .execute(&mut **tx)
                    .await
                    .map_err(backend_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn write_page_monitors(tx: &mut Tx, page: &d::status_page::StatusPage) -> StoreResult<()> {
                ::sqlx::query("DELETE FROM status_page_monitors WHERE page_id = $1")
                    .bind(page.id.as_str())
                    .execute(&mut **tx)
                    .await
                    .map_err(backend_err)?;
                for (order, m) in page.spec.monitors.iter().enumerate() {
                    ::sqlx::query(
                        "INSERT INTO status_page_monitors (page_id, monitor_id, sort_order, \
                         public_label, show_target, show_cert_health) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(page.id.as_str())
                    .bind(m.monitor_id.as_str())
                    .bind(order as i64)
                    .bind(&m.public_label)
                    .bind(m.show_target)
                    .bind(m.show_cert_health)
                    .execute(&mut **tx)
                    .await
                    .map_err(backend_err)?;
                }
                Ok(())
            }

            impl $backend {
                async fn load_pages(&self, org: &d::OrgId, id: Option<&d::StatusPageId>) -> StoreResult<Vec<d::status_page::StatusPage>> {
                    let mut sql = String::from(
                        "SELECT id, org_id, slug, title, description, enabled, created_at, updated_at \
                         FROM status_pages WHERE org_id = $1",
                    );
                    if id.is_some() {
                        sql.push_str(" AND id = $2");
                    }
                    sql.push_str(" ORDER BY id");
                    let mut query = ::sqlx::query(::sqlx::AssertSqlSafe(sql)).bind(org.as_str());
                    if let Some(id) = id {
                        query = query.bind(id.as_str());
                    }
                    let rows = query.fetch_all(self.read_pool()).await.map_err(backend_err)?;
                    let mut pages = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let page_id: String = get(row, "id")?;
                        let entries = ::sqlx::query(
                            "SELECT monitor_id, public_label, show_target, show_cert_health \
                             FROM status_page_monitors WHERE page_id = $1 ORDER BY sort_order",
                        )
                        .bind(&page_id)
                        .fetch_all(self.read_pool())
                        .await
                        .map_err(backend_err)?;
                        let monitors = entries
                            .iter()
                            .map(|e| {
                                Ok(d::status_page::StatusPageMonitor {
                                    monitor_id: d::MonitorId::from_string(get::<String>(e, "monitor_id")?),
                                    public_label: get(e, "public_label")?,
                                    show_target: get(e, "show_target")?,
                                    show_cert_health: get(e, "show_cert_health")?,
                                })
                            })
                            .collect::<StoreResult<Vec<_>>>()?;
                        pages.push(d::status_page::StatusPage {
                            id: d::StatusPageId::from_string(page_id),
                            org_id: d::OrgId::from_string(get::<String>(row, "org_id")?),
                            spec: d::status_page::StatusPageSpec {
                                slug: get(row, "slug")?,
                                title: get(row, "title")?,
                                description: get(row, "description")?,
                                enabled: get(row, "enabled")?,
                                monitors,
                            },
                            created_at: get(row, "created_at")?,
                            updated_at: get(row, "updated_at")?,
                        });
                    }
                    Ok(pages)
                }
            }

            /// Splits a `limit + 1` fetch into a page and its next cursor.

            #[::async_trait::async_trait]
            impl Store for $backend {
                fn backend(&self) -> &'static str {
                    <$backend>::NAME
                }

                async fn ping(&self) -> StoreResult<()> {
                    ::sqlx::query("SELECT 1").execute(self.read_pool()).await.map_err(backend_err)?;
                    Ok(())
                }

                async fn create_org(&self, org: &d::org::Org, audit: &d::audit::AuditEvent) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    ::sqlx::query("INSERT INTO orgs (id, name, plan, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(org.id.as_str())
                        .bind(&org.name)
                        .bind(&org.plan)
                        .bind(org.created_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(conflict_or("id"))?;
                    insert_audit(&mut tx, audit).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn get_org(&self, id: &d::OrgId) -> StoreResult<Option<d::org::Org>> {
                    ::sqlx::query("SELECT id, name, plan, created_at FROM orgs WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(self.read_pool())
                        .await
                        .map_err(backend_err)?
                        .as_ref()
                        .map(org_from_row)
                        .transpose()
                }

                async fn list_orgs(&self) -> StoreResult<Vec<d::org::Org>> {
                    ::sqlx::query("SELECT id, name, plan, created_at FROM orgs ORDER BY id")
                        .fetch_all(self.read_pool())
                        .await
                        .map_err(backend_err)?
                        .iter()
                        .map(org_from_row)
                        .collect()
                }

                async fn create_api_key(&self, key: &d::apikey::ApiKey, audit: &d::audit::AuditEvent) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    lock_org(&mut tx, &key.org_id).await?;
                    ::sqlx::query(
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
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict_or("key"))?;
                    insert_audit(&mut tx, audit).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn find_api_key_by_hash(&self, hash: &str) -> StoreResult<Option<d::apikey::ApiKey>> {
                    let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1");
                    ::sqlx::query(::sqlx::AssertSqlSafe(sql))
                        .bind(hash)
                        .fetch_optional(self.read_pool())
                        .await
                        .map_err(backend_err)?
                        .as_ref()
                        .map(key_from_row)
                        .transpose()
                }

                async fn list_api_keys(&self, org: Option<&d::OrgId>) -> StoreResult<Vec<d::apikey::ApiKey>> {
                    let rows = match org {
                        Some(org) => {
                            let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE org_id = $1 ORDER BY id");
                            ::sqlx::query(::sqlx::AssertSqlSafe(sql)).bind(org.as_str()).fetch_all(self.read_pool()).await
                        }
                        None => {
                            let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY id");
                            ::sqlx::query(::sqlx::AssertSqlSafe(sql)).fetch_all(self.read_pool()).await
                        }
                    }
                    .map_err(backend_err)?;
                    rows.iter().map(key_from_row).collect()
                }

                async fn revoke_api_key(&self, id: &d::ApiKeyId, at: d::time::Millis, audit: &d::audit::AuditEvent) -> StoreResult<d::apikey::ApiKey> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    let done = ::sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                        .bind(at)
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = $1");
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_one(&mut *tx).await.map_err(backend_err)?;
                    let key = key_from_row(&row)?;
                    let mut audit = audit.clone();
                    audit.org_id = key.org_id.clone();
                    insert_audit(&mut tx, &audit).await?;
                    tx.commit().await.map_err(backend_err)?;
                    Ok(key)
                }

                async fn touch_api_keys(&self, used: &[(d::ApiKeyId, d::time::Millis)]) -> StoreResult<()> {
                    if used.is_empty() {
                        return Ok(());
                    }
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    for (id, at) in used {
                        ::sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)")
                            .bind(*at)
                            .bind(id.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err(backend_err)?;
                    }
                    tx.commit().await.map_err(backend_err)
                }

                async fn create_environment(&self, env: &d::org::Environment, audit: &d::audit::AuditEvent) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    ::sqlx::query("INSERT INTO environments (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(env.id.as_str())
                        .bind(env.org_id.as_str())
                        .bind(&env.name)
                        .bind(env.created_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(conflict_or("name"))?;
                    insert_audit(&mut tx, audit).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn list_environments(&self, org: &d::OrgId) -> StoreResult<Vec<d::org::Environment>> {
                    ::sqlx::query("SELECT id, org_id, name, created_at FROM environments WHERE org_id = $1 ORDER BY id")
                        .bind(org.as_str())
                        .fetch_all(self.read_pool())
                        .await
                        .map_err(backend_err)?
                        .iter()
                        .map(env_from_row)
                        .collect()
                }

                async fn get_environment(&self, org: &d::OrgId, id: &d::EnvironmentId) -> StoreResult<Option<d::org::Environment>> {
                    ::sqlx::query("SELECT id, org_id, name, created_at FROM environments WHERE org_id = $1 AND id = $2")
                        .bind(org.as_str())
                        .bind(id.as_str())
                        .fetch_optional(self.read_pool())
                        .await
                        .map_err(backend_err)?
                        .as_ref()
                        .map(env_from_row)
                        .transpose()
                }

                async fn delete_environment(&self, org: &d::OrgId, id: &d::EnvironmentId, audit: &d::audit::AuditEvent) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    ::sqlx::query("UPDATE monitors SET environment_id = NULL WHERE org_id = $1 AND environment_id = $2")
                        .bind(org.as_str())
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                    let done = ::sqlx::query("DELETE FROM environments WHERE org_id = $1 AND id = $2")
                        .bind(org.as_str())
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    insert_audit(&mut tx, audit).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn create_monitor(&self, monitor: &d::monitor::Monitor, max_monitors: u32, audit: &d::audit::AuditEvent) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    lock_org(&mut tx, &monitor.org_id).await?;
                    if count_in(&mut tx, COUNT_MONITORS, &monitor.org_id).await? >= max_monitors as u64 {
                        return Err(StoreError::QuotaExceeded { limit: max_monitors });
                    }
                    insert_monitor(&mut tx, monitor).await?;
                    insert_audit(&mut tx, audit).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn get_monitor(&self, org: &d::OrgId, id: &d::MonitorId) -> StoreResult<Option<d::monitor::Monitor>> {
                    let sql = format!("SELECT {MONITOR_COLUMNS} FROM monitors WHERE org_id = $1 AND id = $2");
                    ::sqlx::query(::sqlx::AssertSqlSafe(sql))
                        .bind(org.as_str())
                        .bind(id.as_str())
                        .fetch_optional(self.read_pool())
                        .await
                        .map_err(backend_err)?
                        .as_ref()
                        .map(monitor_from_row)
                        .transpose()
                }

                async fn list_monitors(&self, org: &d::OrgId, q: &MonitorQuery) -> StoreResult<Page<d::monitor::Monitor>> {
                    let mut query = ::sqlx::QueryBuilder::<Db>::new(format!("SELECT {MONITOR_COLUMNS} FROM monitors WHERE org_id = "));
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
                    query.push(" ORDER BY id LIMIT ").push_bind(q.limit as i64 + 1);
                    let rows = query.build().fetch_all(self.read_pool()).await.map_err(backend_err)?;
                    let items = rows.iter().map(monitor_from_row).collect::<StoreResult<Vec<_>>>()?;
                    Ok(paginate(items, q.limit, |m| m.id.to_string()))
                }

                async fn update_monitor(&self, monitor: &d::monitor::Monitor, audit: &d::audit::AuditEvent) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    update_monitor_row(&mut tx, monitor).await?;
                    insert_audit(&mut tx, audit).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn delete_monitor(&self, org: &d::OrgId, id: &d::MonitorId, audit: &d::audit::AuditEvent) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    delete_monitor_row(&mut tx, org, id).await?;
                    insert_audit(&mut tx, audit).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn list_managed_monitors(&self, org: &d::OrgId) -> StoreResult<Vec<d::monitor::Monitor>> {
                    let sql = format!("SELECT {MONITOR_COLUMNS} FROM monitors WHERE org_id = $1 AND external_id IS NOT NULL ORDER BY id");
                    ::sqlx::query(::sqlx::AssertSqlSafe(sql))
                        .bind(org.as_str())
                        .fetch_all(self.read_pool())
                        .await
                        .map_err(backend_err)?
                        .iter()
                        .map(monitor_from_row)
                        .collect()
                }

                async fn count_monitors(&self, org: &d::OrgId) -> StoreResult<u64> {
                    let row = ::sqlx::query(COUNT_MONITORS)
                        .bind(org.as_str())
                        .fetch_one(self.read_pool())
                        .await
                        .map_err(backend_err)?;
                    Ok(get::<i64>(&row, "n")? as u64)
                }

                async fn apply_sync(&self, org: &d::OrgId, plan: &SyncChanges, max_monitors: u32, audit: &[d::audit::AuditEvent]) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
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
                            return Err(StoreError::QuotaExceeded { limit: max_monitors });
                        }
                    }
                    for monitor in &plan.create {
                        insert_monitor(&mut tx, monitor).await?;
                    }
                    for event in audit {
                        insert_audit(&mut tx, event).await?;
                    }
                    tx.commit().await.map_err(backend_err)
                }

                async fn find_heartbeat_monitor(&self, token: &str) -> StoreResult<Option<d::monitor::Monitor>> {
                    let sql = format!("SELECT {MONITOR_COLUMNS} FROM monitors WHERE heartbeat_token = $1");
                    ::sqlx::query(::sqlx::AssertSqlSafe(sql))
                        .bind(token)
                        .fetch_optional(self.read_pool())
                        .await
                        .map_err(backend_err)?
                        .as_ref()
                        .map(monitor_from_row)
                        .transpose()
                }

                async fn insert_results(&self, results: &[d::check::CheckResult]) -> StoreResult<()> {
                    if results.is_empty() {
                        return Ok(());
                    }
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    insert_result_rows(&mut tx, results).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn record_check(&self, results: &[d::check::CheckResult], org: &d::OrgId, monitor: &d::MonitorId, state: &MonitorState) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    insert_result_rows(&mut tx, results).await?;
                    update_state(&mut tx, org, monitor, state).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn list_results(&self, org: &d::OrgId, monitor: &d::MonitorId, q: &ResultQuery) -> StoreResult<Page<d::check::CheckResult>> {
                    let mut query = ::sqlx::QueryBuilder::<Db>::new(format!("SELECT {RESULT_COLUMNS} FROM check_results WHERE org_id = "));
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
                    newest_first(query, q.cursor.as_deref(), q.limit, self.read_pool(), result_from_row, |r| r.id.to_string()).await
                }

                async fn prune_results(&self, before: d::time::Millis) -> StoreResult<u64> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    // Ids sort by creation time: the primary key serves as the time index.
                    let done = ::sqlx::query("DELETE FROM check_results WHERE id < $1")
                        .bind(d::id::floor_at(before))
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                    tx.commit().await.map_err(backend_err)?;
                    Ok(done.rows_affected())
                }

                async fn record_heartbeat_ping(&self, state: &HeartbeatState) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    upsert_pings(&mut tx, &[state]).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn record_checks(&self, batch: &[$crate::CheckRecord]) -> StoreResult<()> {
                    if batch.is_empty() {
                        return Ok(());
                    }
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    // Outcomes of monitors deleted meanwhile are dropped, so
                    // no history outlives its monitor.
                    let mut ids: Vec<&str> = batch.iter().map(|r| r.monitor_id.as_str()).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    let mut live = ::std::collections::HashSet::new();
                    for chunk in ids.chunks(1000) {
                        for row in super::__sql_alert_impl::fetch_in(&mut *tx, "id", "monitors", "id", chunk).await? {
                            live.insert(get::<String>(&row, "id")?);
                        }
                    }
                    let kept: Vec<&$crate::CheckRecord> =
                        batch.iter().filter(|r| live.contains(r.monitor_id.as_str())).collect();
                    let results: Vec<d::check::CheckResult> =
                        kept.iter().flat_map(|r| r.results.iter().cloned()).collect();
                    insert_result_rows(&mut tx, &results).await?;
                    for record in &kept {
                        if let Some(state) = &record.state {
                            update_state(&mut tx, &record.org_id, &record.monitor_id, state).await?;
                        }
                    }
                    // The latest ping per monitor wins.
                    let mut pings: ::std::collections::HashMap<&str, &HeartbeatState> = ::std::collections::HashMap::new();
                    for ping in kept.iter().filter_map(|r| r.ping.as_ref()) {
                        let slot = pings.entry(ping.monitor_id.as_str()).or_insert(ping);
                        if ping.last_ping_at >= slot.last_ping_at {
                            *slot = ping;
                        }
                    }
                    let pings: Vec<&HeartbeatState> = pings.into_values().collect();
                    upsert_pings(&mut tx, &pings).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn list_heartbeat_states(&self) -> StoreResult<Vec<HeartbeatState>> {
                    ::sqlx::query("SELECT monitor_id, org_id, last_ping_at, last_ping_ok, missed FROM heartbeats ORDER BY monitor_id")
                        .fetch_all(self.read_pool())
                        .await
                        .map_err(backend_err)?
                        .iter()
                        .map(|row| {
                            Ok(HeartbeatState {
                                monitor_id: d::MonitorId::from_string(get::<String>(row, "monitor_id")?),
                                org_id: d::OrgId::from_string(get::<String>(row, "org_id")?),
                                last_ping_at: get(row, "last_ping_at")?,
                                last_ping_ok: get(row, "last_ping_ok")?,
                                missed: get(row, "missed")?,
                            })
                        })
                        .collect()
                }

                async fn claim_heartbeat_missed(&self, monitor: &d::MonitorId, last_ping_at: d::time::Millis) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    let done = ::sqlx::query(
                        "UPDATE heartbeats SET missed = TRUE WHERE monitor_id = $1 AND last_ping_at = $2 AND missed = FALSE",
                    )
                    .bind(monitor.as_str())
                    .bind(last_ping_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_err)?;
                    tx.commit().await.map_err(backend_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn get_domain_registration(&self, domain: &str) -> StoreResult<Option<$crate::DomainRegistration>> {
                    let row = ::sqlx::query(
                        "SELECT domain, checked_at, expires_at, source, server, error FROM domain_registrations WHERE domain = $1",
                    )
                    .bind(domain)
                    .fetch_optional(self.read_pool())
                    .await
                    .map_err(backend_err)?;
                    row.map(|row| -> StoreResult<$crate::DomainRegistration> {
                        Ok($crate::DomainRegistration {
                            domain: get(&row, "domain")?,
                            checked_at: get(&row, "checked_at")?,
                            expires_at: get(&row, "expires_at")?,
                            source: get(&row, "source")?,
                            server: get(&row, "server")?,
                            error: get(&row, "error")?,
                        })
                    })
                    .transpose()
                }

                async fn claim_domain_lookup(&self, domain: &str, now: d::time::Millis, stale_before: d::time::Millis) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    let done = ::sqlx::query(
                        "INSERT INTO domain_registrations (domain, checked_at) VALUES ($1, $2) \
                         ON CONFLICT (domain) DO UPDATE SET checked_at = $2 \
                         WHERE domain_registrations.checked_at < $3",
                    )
                    .bind(domain)
                    .bind(now)
                    .bind(stale_before)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_err)?;
                    tx.commit().await.map_err(backend_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn finish_domain_lookup(&self, r: &$crate::DomainRegistration) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    ::sqlx::query(
                        "UPDATE domain_registrations SET expires_at = $2, source = $3, server = $4, error = $5 WHERE domain = $1",
                    )
                    .bind(&r.domain)
                    .bind(r.expires_at)
                    .bind(r.source.as_deref())
                    .bind(r.server.as_deref())
                    .bind(r.error.as_deref())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_err)?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn list_daily_stats(&self, org: &d::OrgId, monitor: &d::MonitorId, from: &str, to: &str) -> StoreResult<Vec<d::stats::DailyStats>> {
                    ::sqlx::query(
                        "SELECT day, total_checks, failed_checks, degraded_checks, latency_sum_ms, latency_count, \
                         max_latency_ms, p50_latency_ms, p95_latency_ms, finalized FROM daily_stats \
                         WHERE org_id = $1 AND monitor_id = $2 AND day >= $3 AND day <= $4 ORDER BY day",
                    )
                    .bind(org.as_str())
                    .bind(monitor.as_str())
                    .bind(from)
                    .bind(to)
                    .fetch_all(self.read_pool())
                    .await
                    .map_err(backend_err)?
                    .iter()
                    .map(stats_from_row)
                    .collect()
                }

                async fn finalize_daily_stats(&self, today: &str) -> StoreResult<u64> {
                    let open = ::sqlx::query("SELECT monitor_id, day FROM daily_stats WHERE finalized = FALSE AND day < $1")
                        .bind(today)
                        .fetch_all(self.read_pool())
                        .await
                        .map_err(backend_err)?;
                    let mut finalized = 0;
                    for row in &open {
                        let monitor_id: String = get(row, "monitor_id")?;
                        let day: String = get(row, "day")?;
                        let Some(date) = d::time::parse_day(&day) else {
                            return Err(StoreError::Corrupt(format!("daily_stats day {day}")));
                        };
                        let (start, end) = d::time::day_bounds(date);
                        let latencies: Vec<i64> = ::sqlx::query(
                            "SELECT latency_ms FROM check_results WHERE monitor_id = $1 AND id >= $2 \
                             AND id < $3 AND check_type IN ('uptime', 'tcp') AND latency_ms IS NOT NULL",
                        )
                        .bind(&monitor_id)
                        .bind(d::id::floor_at(start))
                        .bind(d::id::floor_at(end))
                        .fetch_all(self.read_pool())
                        .await
                        .map_err(backend_err)?
                        .iter()
                        .map(|r| get::<i64>(r, "latency_ms"))
                        .collect::<StoreResult<_>>()?;
                        let mut sorted: Vec<u32> = latencies.into_iter().map(|v| v as u32).collect();
                        sorted.sort_unstable();
                        let mut tx = self.begin_write().await.map_err(backend_err)?;
                        ::sqlx::query(
                            "UPDATE daily_stats SET p50_latency_ms = $1, p95_latency_ms = $2, finalized = TRUE \
                             WHERE monitor_id = $3 AND day = $4 AND finalized = FALSE",
                        )
                        .bind(d::stats::percentile(&sorted, 50).map(i64::from))
                        .bind(d::stats::percentile(&sorted, 95).map(i64::from))
                        .bind(&monitor_id)
                        .bind(&day)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                        tx.commit().await.map_err(backend_err)?;
                        finalized += 1;
                    }
                    Ok(finalized)
                }

                async fn record_certificate(&self, cert: &MonitorCertificate, served: Option<&ServedCertificate>) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    ::sqlx::query(
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
                    .await
                    .map_err(backend_err)?;
                    if let Some(served) = served {
                        ::sqlx::query(
                            "INSERT INTO served_certificates (org_id, sha256, spki_sha256, not_after, first_seen_at, last_seen_at, tbs_sha256) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) \
                             ON CONFLICT (org_id, sha256) DO UPDATE SET last_seen_at = excluded.last_seen_at, \
                             tbs_sha256 = COALESCE(served_certificates.tbs_sha256, excluded.tbs_sha256)",
                        )
                        .bind(cert.org_id.as_str())
                        .bind(&served.sha256)
                        .bind(&served.spki_sha256)
                        .bind(served.not_after)
                        .bind(served.first_seen_at)
                        .bind(served.last_seen_at)
                        .bind(served.tbs_sha256.as_deref())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                    }
                    tx.commit().await.map_err(backend_err)
                }

                async fn list_monitor_certificates(&self, org: &d::OrgId) -> StoreResult<Vec<MonitorCertificate>> {
                    let rows = ::sqlx::query(
                        "SELECT monitor_id, org_id, valid, error, issuer, not_after, sha256, checked_at \
                         FROM monitor_certificates WHERE org_id = $1",
                    )
                    .bind(org.as_str())
                    .fetch_all(self.read_pool())
                    .await
                    .map_err(backend_err)?;
                    rows.iter()
                        .map(|row| {
                            Ok(MonitorCertificate {
                                monitor_id: d::MonitorId::from_string(get::<String>(row, "monitor_id")?),
                                org_id: d::OrgId::from_string(get::<String>(row, "org_id")?),
                                valid: get(row, "valid")?,
                                error: get(row, "error")?,
                                issuer: get(row, "issuer")?,
                                not_after: get(row, "not_after")?,
                                sha256: get(row, "sha256")?,
                                checked_at: get(row, "checked_at")?,
                            })
                        })
                        .collect()
                }

                async fn is_served_certificate(&self, org: &d::OrgId, sha256: &str) -> StoreResult<bool> {
                    let found = ::sqlx::query("SELECT 1 AS one FROM served_certificates WHERE org_id = $1 AND sha256 = $2")
                        .bind(org.as_str())
                        .bind(sha256)
                        .fetch_optional(self.read_pool())
                        .await
                        .map_err(backend_err)?;
                    Ok(found.is_some())
                }

                async fn create_status_page(&self, page: &d::status_page::StatusPage, max_pages: u32, audit: &d::audit::AuditEvent) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    lock_org(&mut tx, &page.org_id).await?;
                    if count_in(&mut tx, COUNT_PAGES, &page.org_id).await? >= max_pages as u64 {
                        return Err(StoreError::QuotaExceeded { limit: max_pages });
                    }
                    ::sqlx::query(
                        "INSERT INTO status_pages (id, org_id, slug, title, description, enabled, \
                         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(page.id.as_str())
                    .bind(page.org_id.as_str())
                    .bind(&page.spec.slug)
                    .bind(&page.spec.title)
                    .bind(page.spec.description.as_deref())
                    .bind(page.spec.enabled)
                    .bind(page.created_at)
                    .bind(page.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict_or("slug"))?;
                    write_page_monitors(&mut tx, page).await?;
                    insert_audit(&mut tx, audit).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn get_status_page(&self, org: &d::OrgId, id: &d::StatusPageId) -> StoreResult<Option<d::status_page::StatusPage>> {
                    Ok(self.load_pages(org, Some(id)).await?.into_iter().next())
                }

                async fn list_status_pages(&self, org: &d::OrgId) -> StoreResult<Vec<d::status_page::StatusPage>> {
                    self.load_pages(org, None).await
                }

                async fn update_status_page(&self, page: &d::status_page::StatusPage, audit: &d::audit::AuditEvent) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    let done = ::sqlx::query(
                        "UPDATE status_pages SET slug = $1, title = $2, description = $3, enabled = $4, \
                         updated_at = $5 WHERE org_id = $6 AND id = $7",
                    )
                    .bind(&page.spec.slug)
                    .bind(&page.spec.title)
                    .bind(page.spec.description.as_deref())
                    .bind(page.spec.enabled)
                    .bind(page.updated_at)
                    .bind(page.org_id.as_str())
                    .bind(page.id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict_or("slug"))?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    write_page_monitors(&mut tx, page).await?;
                    insert_audit(&mut tx, audit).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn delete_status_page(&self, org: &d::OrgId, id: &d::StatusPageId, audit: &d::audit::AuditEvent) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    ::sqlx::query("DELETE FROM status_page_monitors WHERE page_id IN (SELECT id FROM status_pages WHERE org_id = $1 AND id = $2)")
                        .bind(org.as_str())
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                    let done = ::sqlx::query("DELETE FROM status_pages WHERE org_id = $1 AND id = $2")
                        .bind(org.as_str())
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    insert_audit(&mut tx, audit).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn record_audit(&self, event: &d::audit::AuditEvent) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    insert_audit(&mut tx, event).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn list_audit(&self, org: &d::OrgId, q: &AuditQuery) -> StoreResult<Page<d::audit::AuditEvent>> {
                    let mut query = ::sqlx::QueryBuilder::<Db>::new(format!("SELECT {AUDIT_COLUMNS} FROM audit_events WHERE org_id = "));
                    query.push_bind(org.as_str());
                    if let Some(action) = &q.action {
                        query.push(" AND action = ").push_bind(action.as_str());
                    }
                    if let Some(target_type) = &q.target_type {
                        query.push(" AND target_type = ").push_bind(target_type.as_str());
                    }
                    if let Some(since) = q.since {
                        query.push(" AND created_at >= ").push_bind(since);
                    }
                    newest_first(query, q.cursor.as_deref(), q.limit, self.read_pool(), audit_from_row, |e| e.id.to_string()).await
                }
            }
        }
    };
}
