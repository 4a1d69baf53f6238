//! The delivery outbox.

use certsentry_domain as d;

use super::alerts::*;
use super::*;
use crate::*;

pub(super) const DELIVERY_COLUMNS: &str =
    "id, org_id, event_id, channel_id, status, attempts, next_attempt_at, created_at, updated_at";

pub(super) fn delivery_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<Delivery> {
    let status: String = row.get("status")?;
    Ok(Delivery {
        id: d::DeliveryId::from_string(row.get::<String>("id")?),
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        event_id: d::EventId::from_string(row.get::<String>("event_id")?),
        channel_id: d::ChannelId::from_string(row.get::<String>("channel_id")?),
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery status {status}")))?,
        attempts: row.get::<i32>("attempts")? as u32,
        next_attempt_at: row.get("next_attempt_at")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        attempt_log: Vec::new(),
    })
}

#[async_trait::async_trait]
impl<B: SqlBackend> DeliveryStore for SqlStore<B> {
    async fn claim_deliveries(
        &self,
        now: d::time::Millis,
        lease_until: d::time::Millis,
        limit: u32,
    ) -> StoreResult<Vec<DueDelivery>> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE deliveries SET lease_until = $1 WHERE id IN (SELECT id FROM deliveries \
             WHERE status = 'pending' AND next_attempt_at <= $2 AND lease_until <= $2 \
             ORDER BY next_attempt_at LIMIT $3{}) RETURNING {DELIVERY_COLUMNS}",
            B::CLAIM_LOCK
        );
        let rows = query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(lease_until)
            .bind(now)
            .bind(limit as i64)
            .fetch_all(&mut tx)
            .await?;
        let deliveries = rows
            .iter()
            .map(delivery_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let mut event_ids: Vec<String> =
            deliveries.iter().map(|d| d.event_id.to_string()).collect();
        event_ids.sort();
        event_ids.dedup();
        let mut channel_ids: Vec<String> = deliveries
            .iter()
            .map(|d| d.channel_id.to_string())
            .collect();
        channel_ids.sort();
        channel_ids.dedup();
        let events: ::std::collections::HashMap<String, d::alert::Event> =
            fetch_in(&mut tx, EVENT_COLUMNS, "events", "id", &event_ids)
                .await?
                .iter()
                .map(|row| event_from_row(row).map(|e| (e.id.to_string(), e)))
                .collect::<StoreResult<_>>()?;
        let channels: ::std::collections::HashMap<String, d::channel::Channel> = fetch_in(
            &mut tx,
            CHANNEL_COLUMNS,
            "notification_channels",
            "id",
            &channel_ids,
        )
        .await?
        .iter()
        .map(|row| channel_from_row(row).map(|c| (c.id.to_string(), c)))
        .collect::<StoreResult<_>>()?;
        tx.commit().await?;
        // A delivery whose channel was deleted meanwhile is dropped by the worker's next claim
        // (delete_channel removes pending ones); skip it here.
        Ok(deliveries
            .into_iter()
            .filter_map(|delivery| {
                let event = events.get(delivery.event_id.as_str())?.clone();
                let channel = channels.get(delivery.channel_id.as_str())?.clone();
                Some(DueDelivery {
                    delivery,
                    event,
                    channel,
                })
            })
            .collect())
    }

    async fn finish_attempts(
        &self,
        outcomes: &[AttemptOutcome],
        disable_after_ms: d::time::Millis,
    ) -> StoreResult<Vec<DisabledChannel>> {
        if outcomes.is_empty() {
            return Ok(Vec::new());
        }
        let now = d::time::now_ms();
        let mut tx = self.begin_write().await?;
        // Per channel: did any attempt of this batch succeed?
        let mut channel_ok: ::std::collections::BTreeMap<String, bool> =
            ::std::collections::BTreeMap::new();
        let mut to_disable: Vec<(String, String)> = Vec::new();
        // Two statements per chunk, not two per attempt: a round of 512
        // attempts is one transaction of a few statements.
        // 7 binds an attempt row; SQLite allows 32,766 and Postgres 65,535.
        for chunk in outcomes.chunks(1000) {
            let mut insert = SqlBuilder::<B>::new(
                "INSERT INTO delivery_attempts (delivery_id, attempt, status_code, duration_ms, \
                 response_body, error, created_at) ",
            );
            insert.push_values(chunk, |mut row, o| {
                let a = &o.attempt;
                row.push_bind(o.delivery_id.as_str())
                    .push_bind(a.attempt as i32)
                    .push_bind(a.status_code.map(i32::from))
                    .push_bind(i64::from(a.duration_ms))
                    .push_bind(a.response_body.as_deref())
                    .push_bind(a.error.as_deref())
                    .push_bind(a.created_at);
            });
            insert.push(" ON CONFLICT (delivery_id, attempt) DO NOTHING");
            insert.build().execute(&mut tx).await?;
            // Only while the lease is ours: a redeliver pressed during the
            // attempt cleared it, and then the delivery stays due. A VALUES
            // list's columns are column1.. in both dialects.
            let mut update = SqlBuilder::<B>::new(
                "UPDATE deliveries SET status = v.column2, attempts = v.column3, \
                 next_attempt_at = v.column4, lease_until = 0, updated_at = ",
            );
            update.push_bind(now).push(" FROM (");
            update.push_values(chunk, |mut row, o| {
                row.push_bind(o.delivery_id.as_str())
                    .push_bind(o.status.as_str())
                    .push_bind(o.attempt.attempt as i32)
                    .push_bind(o.next_attempt_at);
            });
            update.push(
                ") AS v WHERE deliveries.id = v.column1 AND deliveries.lease_until <> 0 \
                 RETURNING id, channel_id",
            );
            let mut channel_of: ::std::collections::HashMap<String, String> = update
                .build()
                .fetch_all(&mut tx)
                .await?
                .iter()
                .map(|row| Ok((row.get::<String>("id")?, row.get::<String>("channel_id")?)))
                .collect::<StoreResult<_>>()?;
            for o in chunk {
                let Some(channel_id) = channel_of.remove(o.delivery_id.as_str()) else {
                    // The lease was lost: the attempt is logged, and the
                    // next one gets a new number.
                    query::<B>(
                        "UPDATE deliveries SET attempts = $1 WHERE id = $2 AND attempts < $1",
                    )
                    .bind(o.attempt.attempt as i32)
                    .bind(o.delivery_id.as_str())
                    .execute(&mut tx)
                    .await?;
                    continue;
                };
                *channel_ok.entry(channel_id.clone()).or_insert(false) |=
                    o.status == DeliveryStatus::Delivered;
                if let Some(reason) = &o.disable_channel {
                    to_disable.push((channel_id, reason.clone()));
                }
            }
        }
        for (channel_id, ok) in &channel_ok {
            if *ok {
                query::<B>("UPDATE notification_channels SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL")
                    .bind(channel_id)
                    .execute(&mut tx)
                    .await
                    ?;
                continue;
            }
            let since = query::<B>(
                "UPDATE notification_channels SET failing_since = COALESCE(failing_since, $1) WHERE id = $2 RETURNING failing_since",
            )
            .bind(now)
            .bind(channel_id)
            .fetch_optional(&mut tx)
            .await
            ?;
            if let Some(row) = since {
                let since: d::time::Millis = row.get("failing_since")?;
                if now - since >= disable_after_ms {
                    to_disable.push((
                        channel_id.clone(),
                        format!(
                            "every delivery attempt has failed since {}",
                            d::time::format_ms(since)
                        ),
                    ));
                }
            }
        }
        let mut disabled = Vec::new();
        for (channel_id, reason) in &to_disable {
            let spec_row =
                query::<B>("SELECT org_id, spec FROM notification_channels WHERE id = $1")
                    .bind(channel_id)
                    .fetch_optional(&mut tx)
                    .await?;
            let Some(spec_row) = spec_row else { continue };
            let mut spec = decode_channel_spec(&spec_row.get::<String>("spec")?)?;
            spec.enabled = false;
            query::<B>("UPDATE notification_channels SET spec = $1, updated_at = $2 WHERE id = $3")
                .bind(encode_channel_spec(&spec))
                .bind(now)
                .bind(channel_id)
                .execute(&mut tx)
                .await?;
            // Its other pending deliveries will not be sent either.
            query::<B>("UPDATE deliveries SET status = 'failed', updated_at = $1 WHERE channel_id = $2 AND status = 'pending'")
                .bind(now)
                .bind(channel_id)
                .execute(&mut tx)
                .await
                ?;
            log_channel_disabled(channel_id, reason);
            disabled.push(DisabledChannel {
                channel_id: d::ChannelId::from_string(channel_id.as_str()),
                org_id: d::OrgId::from_string(spec_row.get::<String>("org_id")?),
                name: spec.name,
                reason: reason.clone(),
            });
        }
        tx.commit().await?;
        Ok(disabled)
    }

    async fn list_deliveries(
        &self,
        org: &d::OrgId,
        q: &DeliveryQuery,
    ) -> StoreResult<Page<Delivery>> {
        let mut query = SqlBuilder::<B>::new(format!(
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
        let mut page = newest_first(
            query,
            q.cursor.as_deref(),
            q.limit,
            self.read_pool(),
            delivery_from_row,
            |d| d.id.to_string(),
        )
        .await?;
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
            let delivery_id: String = row.get("delivery_id")?;
            let attempt = DeliveryAttempt {
                attempt: row.get::<i32>("attempt")? as u32,
                status_code: row.get::<Option<i32>>("status_code")?.map(|c| c as u16),
                duration_ms: row.get::<i64>("duration_ms")? as u32,
                response_body: row.get("response_body")?,
                error: row.get("error")?,
                created_at: row.get("created_at")?,
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

    async fn redeliver(
        &self,
        org: &d::OrgId,
        id: &d::DeliveryId,
        now: d::time::Millis,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done = query::<B>(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, lease_until = 0, \
             updated_at = $1 WHERE org_id = $2 AND id = $3",
        )
        .bind(now)
        .bind(org.as_str())
        .bind(id.as_str())
        .execute(&mut tx)
        .await?;
        found(done.rows_affected())?;
        tx.commit().await.map_err(StoreError::from)
    }

    async fn count_pending_deliveries(&self) -> StoreResult<u64> {
        let row = query::<B>("SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending'")
            .fetch_one(self.read_pool())
            .await?;
        Ok(row.get::<i64>("n")? as u64)
    }

    async fn prune_alerts(&self, before: d::time::Millis) -> StoreResult<u64> {
        // Ids sort by creation time, so "before" is an id range.
        let floor = d::id::floor_at(before);
        let mut tx = self.begin_maintenance().await?;
        let mut deleted = 0;
        for sql in [
            "DELETE FROM delivery_attempts WHERE delivery_id IN \
             (SELECT id FROM deliveries WHERE id < $1 AND status <> 'pending')",
            "DELETE FROM deliveries WHERE id < $1 AND status <> 'pending'",
            "DELETE FROM events WHERE id < $1 AND NOT EXISTS \
             (SELECT 1 FROM deliveries WHERE deliveries.event_id = events.id)",
        ] {
            deleted += query::<B>(sql)
                .bind(&floor)
                .execute(&mut tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }

    async fn release_delivery_leases(&self) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let done = query::<B>(
            "UPDATE deliveries SET lease_until = 0 WHERE status = 'pending' AND lease_until > 0",
        )
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
