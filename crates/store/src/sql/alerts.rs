//! Channels, alert state and events, and the audit-log stream.

use certsentry_domain as d;

use super::*;
use crate::*;

pub(super) const CHANNEL_COLUMNS: &str =
    "id, org_id, spec, secret, previous_secret, previous_expires_at, created_at, updated_at";

pub(super) const EVENT_COLUMNS: &str = "id, org_id, monitor_id, environment_id, event_type, severity, status, monitor, details, subject, created_at";

pub(super) fn channel_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<d::channel::Channel> {
    Ok(d::channel::Channel {
        id: d::ChannelId::from_string(row.get::<String>("id")?),
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        spec: decode_channel_spec(&row.get::<String>("spec")?)?,
        secret: row.get("secret")?,
        previous_secret: row.get("previous_secret")?,
        previous_expires_at: row.get("previous_expires_at")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

pub(super) fn event_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<d::alert::Event> {
    let event_type: String = row.get("event_type")?;
    let severity: String = row.get("severity")?;
    let monitor: Option<String> = row.get("monitor")?;
    Ok(d::alert::Event {
        id: d::EventId::from_string(row.get::<String>("id")?),
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        monitor_id: row
            .get::<Option<String>>("monitor_id")?
            .map(d::MonitorId::from_string),
        environment_id: row.get("environment_id")?,
        event_type: d::alert::EventType::parse(&event_type)
            .ok_or_else(|| StoreError::Corrupt(format!("event type {event_type}")))?,
        severity: d::alert::Severity::parse(&severity)
            .ok_or_else(|| StoreError::Corrupt(format!("severity {severity}")))?,
        status: row.get("status")?,
        monitor: decode_event_monitor(monitor)?,
        details: decode_json(&row.get::<String>("details")?)?,
        subject: decode_event_subject(row.get("subject")?)?,
        created_at: row.get("created_at")?,
    })
}

/// The organization's channels, oldest first; with `audit_only`,
/// just those whose spec names `audit.event` (a cheap pre-filter
/// before `Channel::routes` decides).
pub(super) async fn org_channels<'e, B: SqlBackend>(
    on: impl Exec<'e, B>,
    org: &d::OrgId,
    audit_only: bool,
) -> StoreResult<Vec<d::channel::Channel>> {
    let filter = if audit_only {
        " AND spec LIKE '%\"audit.event\"%'"
    } else {
        ""
    };
    query::<B>(::sqlx::AssertSqlSafe(format!(
        "SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE org_id = $1{filter} ORDER BY id"
    )))
    .bind(org.as_str())
    .fetch_all(on)
    .await?
    .iter()
    .map(channel_from_row)
    .collect()
}

/// Queues an audit event for the channels that subscribe to
/// `audit.event` (the audit-log webhook), in the audit's transaction.
pub(super) async fn stream_audit<B: SqlBackend>(
    tx: &mut Tx<B>,
    audit: &d::audit::AuditEvent,
) -> StoreResult<()> {
    let channels = org_channels(&mut *tx, &audit.org_id, true).await?;
    let event = d::alert::Event::about_audit(audit);
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

/// Stores `event` with one pending delivery per channel of its
/// organization that routes it, in the caller's transaction: how every feed
/// (CT decisions, DMARC imports) hands an event to the outbox.
pub(super) async fn queue_routed_event<B: SqlBackend>(
    tx: &mut Tx<B>,
    event: &d::alert::Event,
) -> StoreResult<()> {
    insert_event(tx, event, false).await?;
    let channels = org_channels(&mut *tx, &event.org_id, false).await?;
    for channel in channels.iter().filter(|c| c.routes(event)) {
        insert_delivery(tx, event, channel).await?;
    }
    Ok(())
}

pub(super) async fn insert_event<B: SqlBackend>(
    tx: &mut Tx<B>,
    e: &d::alert::Event,
    is_test: bool,
) -> StoreResult<()> {
    query::<B>(
        "INSERT INTO events (id, org_id, monitor_id, environment_id, event_type, severity, status, \
         monitor, details, subject, is_test, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
    .bind(encode_event_subject(&e.subject))
    .bind(is_test)
    .bind(e.created_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(super) async fn insert_delivery<B: SqlBackend>(
    tx: &mut Tx<B>,
    e: &d::alert::Event,
    channel: &d::channel::Channel,
) -> StoreResult<()> {
    query::<B>(
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
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl<B: SqlBackend> ChannelStore for SqlStore<B> {
    async fn create_channel(
        &self,
        c: &d::channel::Channel,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(
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
        .execute(&mut tx)
        .await?;
        commit_audited(tx, audit).await
    }

    async fn get_channel(
        &self,
        org: &d::OrgId,
        id: &d::ChannelId,
    ) -> StoreResult<Option<d::channel::Channel>> {
        query::<B>(::sqlx::AssertSqlSafe(format!(
            "SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE org_id = $1 AND id = $2"
        )))
        .bind(org.as_str())
        .bind(id.as_str())
        .fetch_optional(self.read_pool())
        .await?
        .map(|row| channel_from_row(&row))
        .transpose()
    }

    async fn list_channels(&self, org: &d::OrgId) -> StoreResult<Vec<d::channel::Channel>> {
        org_channels(self.read_pool(), org, false).await
    }

    async fn update_channel(
        &self,
        c: &d::channel::Channel,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done = query::<B>(
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
        .execute(&mut tx)
        .await?;
        found(done.rows_affected())?;
        commit_audited(tx, audit).await
    }

    async fn delete_channel(
        &self,
        org: &d::OrgId,
        id: &d::ChannelId,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done = query::<B>("DELETE FROM notification_channels WHERE org_id = $1 AND id = $2")
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(&mut tx)
            .await?;
        found(done.rows_affected())?;
        query::<B>(
            "DELETE FROM deliveries WHERE org_id = $1 AND channel_id = $2 AND status = 'pending'",
        )
        .bind(org.as_str())
        .bind(id.as_str())
        .execute(&mut tx)
        .await?;
        commit_audited(tx, audit).await
    }
}

#[async_trait::async_trait]
impl<B: SqlBackend> AlertStore for SqlStore<B> {
    async fn get_alert_state(
        &self,
        monitor: &d::MonitorId,
        key: &str,
    ) -> StoreResult<Option<String>> {
        let row = query::<B>("SELECT value FROM alert_state WHERE monitor_id = $1 AND key = $2")
            .bind(monitor.as_str())
            .bind(key)
            .fetch_optional(self.read_pool())
            .await?;
        row.map(|r| r.get::<String>("value")).transpose()
    }

    async fn get_alert_states(
        &self,
        monitors: &[d::MonitorId],
        key: &str,
    ) -> StoreResult<std::collections::HashMap<d::MonitorId, String>> {
        let mut states = std::collections::HashMap::new();
        for chunk in monitors.chunks(1000) {
            let mut sql =
                SqlBuilder::<B>::new("SELECT monitor_id, value FROM alert_state WHERE key = ");
            sql.push_bind(key);
            sql.push(" AND monitor_id")
                .push_in(chunk.iter().map(|m| m.as_str()));
            for row in sql.build().fetch_all(self.read_pool()).await? {
                states.insert(
                    d::MonitorId::from_string(row.get::<String>("monitor_id")?),
                    row.get::<String>("value")?,
                );
            }
        }
        Ok(states)
    }

    async fn record_alert(
        &self,
        guard: Option<&AlertGuard>,
        event: Option<&d::alert::Event>,
        only_channel: Option<&d::ChannelId>,
    ) -> StoreResult<bool> {
        let now = d::time::now_ms();
        let mut tx = self.begin_write().await?;
        if let Some(g) = guard {
            let moved = match &g.expected {
                None => query::<B>(
                    "INSERT INTO alert_state (monitor_id, key, value, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (monitor_id, key) DO NOTHING",
                )
                .bind(g.monitor_id.as_str())
                .bind(&g.key)
                .bind(&g.next)
                .bind(now)
                .execute(&mut tx)
                .await,
                Some(expected) => query::<B>(
                    "UPDATE alert_state SET value = $1, updated_at = $2 \
                     WHERE monitor_id = $3 AND key = $4 AND value = $5",
                )
                .bind(&g.next)
                .bind(now)
                .bind(g.monitor_id.as_str())
                .bind(&g.key)
                .bind(expected)
                .execute(&mut tx)
                .await,
            }
            ?
            .rows_affected()
                == 1;
            if !moved {
                return Ok(false);
            }
        }
        if let Some(e) = event {
            insert_event(&mut tx, e, only_channel.is_some()).await?;
            let channels = org_channels(&mut tx, &e.org_id, false).await?;
            for channel in channels.iter().filter(|c| match only_channel {
                Some(only) => &c.id == only,
                None => c.routes(e),
            }) {
                insert_delivery(&mut tx, e, channel).await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn list_events(
        &self,
        org: &d::OrgId,
        q: &EventQuery,
    ) -> StoreResult<Page<d::alert::Event>> {
        let mut query = SqlBuilder::<B>::new(format!(
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
        newest_first(
            query,
            q.cursor.as_deref(),
            q.limit,
            self.read_pool(),
            event_from_row,
            |e| e.id.to_string(),
        )
        .await
    }
}
