//! [`sql_alert_store_impl!`]: the alerting SQL both backends share. Besides
//! what `sql_store_impl!` needs, the backend provides `const CLAIM_LOCK:
//! &'static str`, appended to the outbox claim's inner SELECT (`FOR UPDATE
//! SKIP LOCKED` on Postgres, so nodes never claim the same delivery).

use certsentry_domain::channel::ChannelSpec;

use crate::StoreError;

pub fn decode_channel_spec(json: &str) -> Result<ChannelSpec, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("channel spec: {e}")))
}

pub fn encode_channel_spec(spec: &ChannelSpec) -> String {
    serde_json::to_string(spec).expect("a channel spec always serializes")
}

pub fn decode_event_monitor(
    json: Option<String>,
) -> Result<Option<certsentry_domain::alert::EventMonitor>, StoreError> {
    json.map(|j| serde_json::from_str(&j))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("event monitor: {e}")))
}

pub fn encode_event_monitor(
    monitor: Option<&certsentry_domain::alert::EventMonitor>,
) -> Option<String> {
    monitor.map(|m| serde_json::to_string(m).expect("an event monitor always serializes"))
}

pub fn log_channel_disabled(channel: &str, reason: &str) {
    tracing::warn!(channel, reason, "notification channel disabled");
}

/// `$first, $first+1, …` placeholders for an `IN (…)` list of `count`.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[macro_export]
macro_rules! sql_alert_store_impl {
    ($backend:ty, $db:ty) => {
        mod __sql_alert_impl {
            use super::*;
            use ::sqlx::Row as _;
            use $crate::alerts::*;
            use $crate::sql::domain as d;
            use $crate::sql::decode_json;
            use $crate::sql_alerts::{
                decode_channel_spec, decode_event_monitor, encode_channel_spec, encode_event_monitor,
                log_channel_disabled, placeholders,
            };
            use $crate::{Page, StoreError, StoreResult};

            type Db = $db;
            type Row = <Db as ::sqlx::Database>::Row;
            type Tx = ::sqlx::Transaction<'static, Db>;

            use super::__sql_store_impl::{backend_err, get, insert_audit, newest_first};

            const CHANNEL_COLUMNS: &str = "id, org_id, spec, secret, previous_secret, previous_expires_at, created_at, updated_at";
            const EVENT_COLUMNS: &str = "id, org_id, monitor_id, environment_id, event_type, severity, status, monitor, details, created_at";
            const DELIVERY_COLUMNS: &str = "id, org_id, event_id, channel_id, status, attempts, next_attempt_at, created_at, updated_at";

            fn channel_from_row(row: &Row) -> StoreResult<d::channel::Channel> {
                Ok(d::channel::Channel {
                    id: d::ChannelId::from_string(get::<String>(row, "id")?),
                    org_id: d::OrgId::from_string(get::<String>(row, "org_id")?),
                    spec: decode_channel_spec(&get::<String>(row, "spec")?)?,
                    secret: get(row, "secret")?,
                    previous_secret: get(row, "previous_secret")?,
                    previous_expires_at: get(row, "previous_expires_at")?,
                    created_at: get(row, "created_at")?,
                    updated_at: get(row, "updated_at")?,
                })
            }

            fn event_from_row(row: &Row) -> StoreResult<d::alert::Event> {
                let event_type: String = get(row, "event_type")?;
                let severity: String = get(row, "severity")?;
                let monitor: Option<String> = get(row, "monitor")?;
                Ok(d::alert::Event {
                    id: d::EventId::from_string(get::<String>(row, "id")?),
                    org_id: d::OrgId::from_string(get::<String>(row, "org_id")?),
                    monitor_id: get::<Option<String>>(row, "monitor_id")?.map(d::MonitorId::from_string),
                    environment_id: get(row, "environment_id")?,
                    event_type: d::alert::EventType::parse(&event_type)
                        .ok_or_else(|| StoreError::Corrupt(format!("event type {event_type}")))?,
                    severity: d::alert::Severity::parse(&severity)
                        .ok_or_else(|| StoreError::Corrupt(format!("severity {severity}")))?,
                    status: get(row, "status")?,
                    monitor: decode_event_monitor(monitor)?,
                    details: decode_json(&get::<String>(row, "details")?)?,
                    created_at: get(row, "created_at")?,
                })
            }

            fn delivery_from_row(row: &Row) -> StoreResult<Delivery> {
                let status: String = get(row, "status")?;
                Ok(Delivery {
                    id: d::DeliveryId::from_string(get::<String>(row, "id")?),
                    org_id: d::OrgId::from_string(get::<String>(row, "org_id")?),
                    event_id: d::EventId::from_string(get::<String>(row, "event_id")?),
                    channel_id: d::ChannelId::from_string(get::<String>(row, "channel_id")?),
                    status: DeliveryStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("delivery status {status}")))?,
                    attempts: get::<i32>(row, "attempts")? as u32,
                    next_attempt_at: get(row, "next_attempt_at")?,
                    created_at: get(row, "created_at")?,
                    updated_at: get(row, "updated_at")?,
                    attempt_log: Vec::new(),
                })
            }

            /// Rows of `table` whose `column` is one of `ids` (callers keep
            /// `ids` to at most a thousand: both backends cap bound values).
            pub(crate) async fn fetch_in<'e, E, S>(executor: E, columns: &str, table: &str, column: &str, ids: &[S]) -> StoreResult<Vec<Row>>
            where
                E: ::sqlx::Executor<'e, Database = Db>,
                S: AsRef<str>,
            {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!("SELECT {columns} FROM {table} WHERE {column} IN ({})", placeholders(1, ids.len()));
                let mut query = ::sqlx::query(::sqlx::AssertSqlSafe(sql));
                for id in ids {
                    query = query.bind(id.as_ref().to_string());
                }
                query.fetch_all(executor).await.map_err(backend_err)
            }

            /// The organization's channels, oldest first; with `audit_only`,
            /// just those whose spec names `audit.event` (a cheap pre-filter
            /// before `Channel::routes` decides).
            pub(crate) async fn org_channels<'e, E>(executor: E, org: &d::OrgId, audit_only: bool) -> StoreResult<Vec<d::channel::Channel>>
            where
                E: ::sqlx::Executor<'e, Database = Db>,
            {
                let filter = if audit_only { " AND spec LIKE '%\"audit.event\"%'" } else { "" };
                ::sqlx::query(::sqlx::AssertSqlSafe(format!(
                    "SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE org_id = $1{filter} ORDER BY id"
                )))
                .bind(org.as_str())
                .fetch_all(executor)
                .await
                .map_err(backend_err)?
                .iter()
                .map(channel_from_row)
                .collect()
            }

            /// Queues an audit event for the channels that subscribe to
            /// `audit.event` (the audit-log webhook), in the audit's transaction.
            pub(crate) async fn stream_audit(tx: &mut Tx, audit: &d::audit::AuditEvent) -> StoreResult<()> {
                let channels = org_channels(&mut **tx, &audit.org_id, true).await?;
                let event = d::alert::audit_event(audit);
                let routed: Vec<&d::channel::Channel> = channels.iter().filter(|c| c.routes(&event)).collect();
                if routed.is_empty() {
                    return Ok(());
                }
                insert_event(tx, &event, false).await?;
                for channel in routed {
                    insert_delivery(tx, &event, channel).await?;
                }
                Ok(())
            }

            pub(crate) async fn insert_delivery(tx: &mut Tx, e: &d::alert::Event, channel: &d::channel::Channel) -> StoreResult<()> {
                ::sqlx::query(
                    "INSERT INTO deliveries (id, org_id, event_id, channel_id, status, attempts, \
                     next_attempt_at, lease_until, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 'pending', 0, $5, 0, $6, $6)",
                )
                .bind(d::DeliveryId::generate().as_str())
                .bind(e.org_id.as_str())
                .bind(e.id.as_str())
                .bind(channel.id.as_str())
                .bind(e.created_at)
                .bind(d::time::now_ms())
                .execute(&mut **tx)
                .await
                .map_err(backend_err)?;
                Ok(())
            }

            pub(crate) async fn insert_event(tx: &mut Tx, e: &d::alert::Event, is_test: bool) -> StoreResult<()> {
                ::sqlx::query(
                    "INSERT INTO events (id, org_id, monitor_id, environment_id, event_type, severity, status, \
                     monitor, details, is_test, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(e.id.as_str())
                .bind(e.org_id.as_str())
                .bind(e.monitor_id.as_ref().map(|m| m.as_str()))
                .bind(e.environment_id.as_deref())
                .bind(e.event_type.as_str())
                .bind(e.severity.as_str())
                .bind(&e.status)
                .bind(encode_event_monitor(e.monitor.as_ref()))
                .bind(e.details.to_string())
                .bind(is_test)
                .bind(e.created_at)
                .execute(&mut **tx)
                .await
                .map_err(backend_err)?;
                Ok(())
            }

            #[::async_trait::async_trait]
            impl AlertStore for $backend {
                async fn create_channel(&self, c: &d::channel::Channel, audit: &d::audit::AuditEvent) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    ::sqlx::query(
                        "INSERT INTO notification_channels (id, org_id, spec, secret, previous_secret, \
                         previous_expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(c.id.as_str())
                    .bind(c.org_id.as_str())
                    .bind(encode_channel_spec(&c.spec))
                    .bind(c.secret.as_deref())
                    .bind(c.previous_secret.as_deref())
                    .bind(c.previous_expires_at)
                    .bind(c.created_at)
                    .bind(c.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_err)?;
                    insert_audit(&mut tx, audit).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn get_channel(&self, org: &d::OrgId, id: &d::ChannelId) -> StoreResult<Option<d::channel::Channel>> {
                    ::sqlx::query(::sqlx::AssertSqlSafe(format!(
                        "SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE org_id = $1 AND id = $2"
                    )))
                    .bind(org.as_str())
                    .bind(id.as_str())
                    .fetch_optional(self.read_pool())
                    .await
                    .map_err(backend_err)?
                    .map(|row| channel_from_row(&row))
                    .transpose()
                }

                async fn list_channels(&self, org: &d::OrgId) -> StoreResult<Vec<d::channel::Channel>> {
                    org_channels(self.read_pool(), org, false).await
                }

                async fn update_channel(&self, c: &d::channel::Channel, audit: &d::audit::AuditEvent) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    let done = ::sqlx::query(
                        "UPDATE notification_channels SET spec = $1, secret = $2, previous_secret = $3, \
                         previous_expires_at = $4, updated_at = $5 WHERE org_id = $6 AND id = $7",
                    )
                    .bind(encode_channel_spec(&c.spec))
                    .bind(c.secret.as_deref())
                    .bind(c.previous_secret.as_deref())
                    .bind(c.previous_expires_at)
                    .bind(c.updated_at)
                    .bind(c.org_id.as_str())
                    .bind(c.id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    insert_audit(&mut tx, audit).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn delete_channel(&self, org: &d::OrgId, id: &d::ChannelId, audit: &d::audit::AuditEvent) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    let done = ::sqlx::query("DELETE FROM notification_channels WHERE org_id = $1 AND id = $2")
                        .bind(org.as_str())
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    ::sqlx::query("DELETE FROM deliveries WHERE org_id = $1 AND channel_id = $2 AND status = 'pending'")
                        .bind(org.as_str())
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                    insert_audit(&mut tx, audit).await?;
                    tx.commit().await.map_err(backend_err)
                }

                async fn get_alert_state(&self, monitor: &d::MonitorId, key: &str) -> StoreResult<Option<String>> {
                    let row = ::sqlx::query("SELECT value FROM alert_state WHERE monitor_id = $1 AND key = $2")
                        .bind(monitor.as_str())
                        .bind(key)
                        .fetch_optional(self.read_pool())
                        .await
                        .map_err(backend_err)?;
                    row.map(|r| get::<String>(&r, "value")).transpose()
                }

                async fn record_alert(
                    &self,
                    guard: Option<&AlertGuard>,
                    event: Option<&d::alert::Event>,
                    only_channel: Option<&d::ChannelId>,
                ) -> StoreResult<bool> {
                    let now = d::time::now_ms();
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    if let Some(g) = guard {
                        let moved = match &g.expected {
                            None => ::sqlx::query(
                                "INSERT INTO alert_state (monitor_id, key, value, updated_at) VALUES ($1, $2, $3, $4) \
                                 ON CONFLICT (monitor_id, key) DO NOTHING",
                            )
                            .bind(g.monitor_id.as_str())
                            .bind(&g.key)
                            .bind(&g.next)
                            .bind(now)
                            .execute(&mut *tx)
                            .await,
                            Some(expected) => ::sqlx::query(
                                "UPDATE alert_state SET value = $1, updated_at = $2 \
                                 WHERE monitor_id = $3 AND key = $4 AND value = $5",
                            )
                            .bind(&g.next)
                            .bind(now)
                            .bind(g.monitor_id.as_str())
                            .bind(&g.key)
                            .bind(expected)
                            .execute(&mut *tx)
                            .await,
                        }
                        .map_err(backend_err)?
                        .rows_affected()
                            == 1;
                        if !moved {
                            return Ok(false);
                        }
                    }
                    if let Some(e) = event {
                        insert_event(&mut tx, e, only_channel.is_some()).await?;
                        let channels = org_channels(&mut *tx, &e.org_id, false).await?;
                        for channel in channels.iter().filter(|c| match only_channel {
                            Some(only) => &c.id == only,
                            None => c.routes(e),
                        }) {
                            insert_delivery(&mut tx, e, channel).await?;
                        }
                    }
                    tx.commit().await.map_err(backend_err)?;
                    Ok(true)
                }

                async fn list_events(&self, org: &d::OrgId, q: &EventQuery) -> StoreResult<Page<d::alert::Event>> {
                    let mut query = ::sqlx::QueryBuilder::<Db>::new(format!(
                        "SELECT {EVENT_COLUMNS} FROM events WHERE is_test = FALSE AND event_type <> 'audit.event' AND org_id = "
                    ));
                    query.push_bind(org.as_str());
                    if let Some(m) = &q.monitor_id {
                        query.push(" AND monitor_id = ").push_bind(m.as_str());
                    }
                    if let Some(t) = &q.event_type {
                        query.push(" AND event_type = ").push_bind(t.as_str());
                    }
                    if let Some(since) = q.since {
                        query.push(" AND created_at >= ").push_bind(since);
                    }
                    newest_first(query, q.cursor.as_deref(), q.limit, self.read_pool(), event_from_row, |e| e.id.to_string()).await
                }

                async fn claim_deliveries(&self, now: d::time::Millis, lease_until: d::time::Millis, limit: u32) -> StoreResult<Vec<DueDelivery>> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    let sql = format!(
                        "UPDATE deliveries SET lease_until = $1 WHERE id IN (SELECT id FROM deliveries \
                         WHERE status = 'pending' AND next_attempt_at <= $2 AND lease_until <= $2 \
                         ORDER BY next_attempt_at LIMIT $3{}) RETURNING {DELIVERY_COLUMNS}",
                        <$backend>::CLAIM_LOCK
                    );
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(sql))
                        .bind(lease_until)
                        .bind(now)
                        .bind(limit as i64)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                    let deliveries = rows.iter().map(delivery_from_row).collect::<StoreResult<Vec<_>>>()?;
                    let mut event_ids: Vec<String> = deliveries.iter().map(|d| d.event_id.to_string()).collect();
                    event_ids.sort();
                    event_ids.dedup();
                    let mut channel_ids: Vec<String> = deliveries.iter().map(|d| d.channel_id.to_string()).collect();
                    channel_ids.sort();
                    channel_ids.dedup();
                    let events: ::std::collections::HashMap<String, d::alert::Event> =
                        fetch_in(&mut *tx, EVENT_COLUMNS, "events", "id", &event_ids)
                            .await?
                            .iter()
                            .map(|row| event_from_row(row).map(|e| (e.id.to_string(), e)))
                            .collect::<StoreResult<_>>()?;
                    let channels: ::std::collections::HashMap<String, d::channel::Channel> =
                        fetch_in(&mut *tx, CHANNEL_COLUMNS, "notification_channels", "id", &channel_ids)
                            .await?
                            .iter()
                            .map(|row| channel_from_row(row).map(|c| (c.id.to_string(), c)))
                            .collect::<StoreResult<_>>()?;
                    tx.commit().await.map_err(backend_err)?;
                    // A delivery whose channel was deleted meanwhile is dropped by the worker's next claim
                    // (delete_channel removes pending ones); skip it here.
                    Ok(deliveries
                        .into_iter()
                        .filter_map(|delivery| {
                            let event = events.get(delivery.event_id.as_str())?.clone();
                            let channel = channels.get(delivery.channel_id.as_str())?.clone();
                            Some(DueDelivery { delivery, event, channel })
                        })
                        .collect())
                }

                async fn finish_attempts(&self, outcomes: &[AttemptOutcome], disable_after_ms: d::time::Millis) -> StoreResult<Vec<DisabledChannel>> {
                    if outcomes.is_empty() {
                        return Ok(Vec::new());
                    }
                    let now = d::time::now_ms();
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    // Per channel: did any attempt of this batch succeed?
                    let mut channel_ok: ::std::collections::BTreeMap<String, bool> = ::std::collections::BTreeMap::new();
                    let mut to_disable: Vec<(String, String)> = Vec::new();
                    for o in outcomes {
                        let a = &o.attempt;
                        ::sqlx::query(
                            "INSERT INTO delivery_attempts (delivery_id, attempt, status_code, duration_ms, \
                             response_body, error, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                             ON CONFLICT (delivery_id, attempt) DO NOTHING",
                        )
                        .bind(o.delivery_id.as_str())
                        .bind(a.attempt as i32)
                        .bind(a.status_code.map(i32::from))
                        .bind(i64::from(a.duration_ms))
                        .bind(a.response_body.as_deref())
                        .bind(a.error.as_deref())
                        .bind(a.created_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                        let updated = ::sqlx::query(
                            "UPDATE deliveries SET status = $1, attempts = $2, next_attempt_at = $3, \
                             lease_until = 0, updated_at = $4 WHERE id = $5 RETURNING org_id, channel_id",
                        )
                        .bind(o.status.as_str())
                        .bind(a.attempt as i32)
                        .bind(o.next_attempt_at)
                        .bind(now)
                        .bind(o.delivery_id.as_str())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                        let Some(row) = updated else { continue };
                        let channel_id: String = get(&row, "channel_id")?;
                        *channel_ok.entry(channel_id.clone()).or_insert(false) |= o.status == DeliveryStatus::Delivered;
                        if let Some(reason) = &o.disable_channel {
                            to_disable.push((channel_id, reason.clone()));
                        }
                    }
                    for (channel_id, ok) in &channel_ok {
                        if *ok {
                            ::sqlx::query("UPDATE notification_channels SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL")
                                .bind(channel_id)
                                .execute(&mut *tx)
                                .await
                                .map_err(backend_err)?;
                            continue;
                        }
                        let since = ::sqlx::query(
                            "UPDATE notification_channels SET failing_since = COALESCE(failing_since, $1) WHERE id = $2 RETURNING failing_since",
                        )
                        .bind(now)
                        .bind(channel_id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                        if let Some(row) = since {
                            let since: d::time::Millis = get(&row, "failing_since")?;
                            if now - since >= disable_after_ms {
                                to_disable.push((channel_id.clone(), format!(
                                    "every delivery attempt has failed since {}", d::time::format_ms(since)
                                )));
                            }
                        }
                    }
                    let mut disabled = Vec::new();
                    for (channel_id, reason) in &to_disable {
                        let spec_row = ::sqlx::query("SELECT org_id, spec FROM notification_channels WHERE id = $1")
                            .bind(channel_id)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(backend_err)?;
                        let Some(spec_row) = spec_row else { continue };
                        let mut spec = decode_channel_spec(&get::<String>(&spec_row, "spec")?)?;
                        spec.enabled = false;
                        ::sqlx::query("UPDATE notification_channels SET spec = $1, updated_at = $2 WHERE id = $3")
                            .bind(encode_channel_spec(&spec))
                            .bind(now)
                            .bind(channel_id)
                            .execute(&mut *tx)
                            .await
                            .map_err(backend_err)?;
                        // Its other pending deliveries will not be sent either.
                        ::sqlx::query("UPDATE deliveries SET status = 'failed', updated_at = $1 WHERE channel_id = $2 AND status = 'pending'")
                            .bind(now)
                            .bind(channel_id)
                            .execute(&mut *tx)
                            .await
                            .map_err(backend_err)?;
                        log_channel_disabled(channel_id, reason);
                        disabled.push(DisabledChannel {
                            channel_id: d::ChannelId::from_string(channel_id.as_str()),
                            org_id: d::OrgId::from_string(get::<String>(&spec_row, "org_id")?),
                            name: spec.name,
                            reason: reason.clone(),
                        });
                    }
                    tx.commit().await.map_err(backend_err)?;
                    Ok(disabled)
                }

                async fn list_deliveries(&self, org: &d::OrgId, q: &DeliveryQuery) -> StoreResult<Page<Delivery>> {
                    let mut query = ::sqlx::QueryBuilder::<Db>::new(format!(
                        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE org_id = "
                    ));
                    query.push_bind(org.as_str());
                    if let Some(c) = &q.channel_id {
                        query.push(" AND channel_id = ").push_bind(c.as_str());
                    }
                    if let Some(e) = &q.event_id {
                        query.push(" AND event_id = ").push_bind(e.as_str());
                    }
                    if let Some(s) = q.status {
                        query.push(" AND status = ").push_bind(s.as_str());
                    }
                    let mut page = newest_first(query, q.cursor.as_deref(), q.limit, self.read_pool(), delivery_from_row, |d| d.id.to_string()).await?;
                    let ids: Vec<String> = page.items.iter().map(|d| d.id.to_string()).collect();
                    let attempts = fetch_in(
                        self.read_pool(),
                        "delivery_id, attempt, status_code, duration_ms, response_body, error, created_at",
                        "delivery_attempts",
                        "delivery_id",
                        &ids,
                    )
                    .await?;
                    for row in &attempts {
                        let delivery_id: String = get(row, "delivery_id")?;
                        let attempt = DeliveryAttempt {
                            attempt: get::<i32>(row, "attempt")? as u32,
                            status_code: get::<Option<i32>>(row, "status_code")?.map(|c| c as u16),
                            duration_ms: get::<i64>(row, "duration_ms")? as u32,
                            response_body: get(row, "response_body")?,
                            error: get(row, "error")?,
                            created_at: get(row, "created_at")?,
                        };
                        if let Some(d) = page.items.iter_mut().find(|d| d.id.as_str() == delivery_id) {
                            d.attempt_log.push(attempt);
                        }
                    }
                    for d in &mut page.items {
                        d.attempt_log.sort_by_key(|a| a.attempt);
                    }
                    Ok(page)
                }

                async fn redeliver(&self, org: &d::OrgId, id: &d::DeliveryId, now: d::time::Millis) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    let done = ::sqlx::query(
                        "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, lease_until = 0, \
                         updated_at = $1 WHERE org_id = $2 AND id = $3",
                    )
                    .bind(now)
                    .bind(org.as_str())
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    tx.commit().await.map_err(backend_err)
                }

                async fn prune_alerts(&self, before: d::time::Millis) -> StoreResult<u64> {
                    // Ids sort by creation time, so "before" is an id range.
                    let floor = d::id::floor_at(before);
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    let mut deleted = 0;
                    for sql in [
                        "DELETE FROM delivery_attempts WHERE delivery_id IN \
                         (SELECT id FROM deliveries WHERE id < $1 AND status <> 'pending')",
                        "DELETE FROM deliveries WHERE id < $1 AND status <> 'pending'",
                        "DELETE FROM events WHERE id < $1 AND NOT EXISTS \
                         (SELECT 1 FROM deliveries WHERE deliveries.event_id = events.id)",
                    ] {
                        deleted += ::sqlx::query(sql)
                            .bind(&floor)
                            .execute(&mut *tx)
                            .await
                            .map_err(backend_err)?
                            .rows_affected();
                    }
                    tx.commit().await.map_err(backend_err)?;
                    Ok(deleted)
                }

                async fn release_delivery_leases(&self) -> StoreResult<u64> {
                    let mut tx = self.begin_write().await.map_err(backend_err)?;
                    let done = ::sqlx::query("UPDATE deliveries SET lease_until = 0 WHERE status = 'pending' AND lease_until > 0")
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_err)?;
                    tx.commit().await.map_err(backend_err)?;
                    Ok(done.rows_affected())
                }

                async fn count_pending_deliveries(&self) -> StoreResult<u64> {
                    let row = ::sqlx::query("SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending'")
                        .fetch_one(self.read_pool())
                        .await
                        .map_err(backend_err)?;
                    Ok(get::<i64>(&row, "n")? as u64)
                }
            }
        }
    };
}
