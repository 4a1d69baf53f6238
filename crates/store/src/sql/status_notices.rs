//! Incidents, their updates, and maintenance windows.

use std::collections::HashMap;

use certsentry_domain as d;
use certsentry_domain::status_page::incident::{Incident, IncidentState, IncidentUpdate};
use certsentry_domain::status_page::maintenance::{Maintenance, MaintenanceSpec};
use certsentry_domain::time::Millis;

use super::*;
use crate::*;

const INCIDENT_COLUMNS: &str =
    "id, org_id, page_id, title, state, monitor_id, created_at, updated_at, resolved_at";
const MAINTENANCE_COLUMNS: &str =
    "id, org_id, page_id, title, message, starts_at, ends_at, created_at, updated_at";

fn state_of(text: &str) -> StoreResult<IncidentState> {
    IncidentState::parse(text).ok_or_else(|| StoreError::Corrupt(format!("incident state {text}")))
}

fn incident_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<Incident> {
    Ok(Incident {
        id: d::IncidentId::from_string(row.get::<String>("id")?),
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        page_id: d::StatusPageId::from_string(row.get::<String>("page_id")?),
        title: row.get("title")?,
        state: state_of(&row.get::<String>("state")?)?,
        monitor_id: row
            .get::<Option<String>>("monitor_id")?
            .map(d::MonitorId::from_string),
        updates: Vec::new(),
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        resolved_at: row.get("resolved_at")?,
    })
}

fn maintenance_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<Maintenance> {
    Ok(Maintenance {
        id: d::MaintenanceId::from_string(row.get::<String>("id")?),
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        page_id: d::StatusPageId::from_string(row.get::<String>("page_id")?),
        spec: MaintenanceSpec {
            title: row.get("title")?,
            message: row.get("message")?,
            starts_at: row.get("starts_at")?,
            ends_at: row.get("ends_at")?,
            monitor_ids: Vec::new(),
        },
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

async fn insert_update<B: SqlBackend>(
    tx: &mut Tx<B>,
    incident: &d::IncidentId,
    update: &IncidentUpdate,
) -> StoreResult<()> {
    query::<B>(
        "INSERT INTO incident_updates (id, incident_id, state, body, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(update.id.as_str())
    .bind(incident.as_str())
    .bind(update.state.as_str())
    .bind(&update.body)
    .bind(update.created_at)
    .execute(tx)
    .await?;
    Ok(())
}

async fn write_maintenance_monitors<B: SqlBackend>(
    tx: &mut Tx<B>,
    window: &Maintenance,
) -> StoreResult<()> {
    query::<B>("DELETE FROM maintenance_monitors WHERE maintenance_id = $1")
        .bind(window.id.as_str())
        .execute(&mut *tx)
        .await?;
    for (order, monitor) in window.spec.monitor_ids.iter().enumerate() {
        query::<B>(
            "INSERT INTO maintenance_monitors (maintenance_id, monitor_id, sort_order) \
             VALUES ($1, $2, $3)",
        )
        .bind(window.id.as_str())
        .bind(monitor.as_str())
        .bind(order as i64)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Commits, with the operator's audit event when there is one.
impl<B: SqlBackend> SqlStore<B> {
    /// Fills each incident's timeline, oldest update first.
    async fn with_updates(&self, mut incidents: Vec<Incident>) -> StoreResult<Vec<Incident>> {
        let ids: Vec<String> = incidents.iter().map(|i| i.id.to_string()).collect();
        let mut updates: HashMap<String, Vec<IncidentUpdate>> = HashMap::new();
        for chunk in ids.chunks(500) {
            for row in fetch_in(
                self.read_pool(),
                "id, incident_id, state, body, created_at",
                "incident_updates",
                "incident_id",
                chunk,
            )
            .await?
            {
                updates
                    .entry(row.get("incident_id")?)
                    .or_default()
                    .push(IncidentUpdate {
                        id: d::IncidentUpdateId::from_string(row.get::<String>("id")?),
                        state: state_of(&row.get::<String>("state")?)?,
                        body: row.get("body")?,
                        created_at: row.get("created_at")?,
                    });
            }
        }
        for incident in &mut incidents {
            let mut timeline = updates.remove(incident.id.as_str()).unwrap_or_default();
            timeline.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
            incident.updates = timeline;
        }
        Ok(incidents)
    }

    /// Fills each window's monitors, in the order given.
    async fn with_monitors(&self, mut windows: Vec<Maintenance>) -> StoreResult<Vec<Maintenance>> {
        let ids: Vec<String> = windows.iter().map(|w| w.id.to_string()).collect();
        let mut monitors: HashMap<String, Vec<(i64, d::MonitorId)>> = HashMap::new();
        for chunk in ids.chunks(500) {
            for row in fetch_in(
                self.read_pool(),
                "maintenance_id, monitor_id, sort_order",
                "maintenance_monitors",
                "maintenance_id",
                chunk,
            )
            .await?
            {
                monitors
                    .entry(row.get("maintenance_id")?)
                    .or_default()
                    .push((
                        row.get("sort_order")?,
                        d::MonitorId::from_string(row.get::<String>("monitor_id")?),
                    ));
            }
        }
        for window in &mut windows {
            let mut chosen = monitors.remove(window.id.as_str()).unwrap_or_default();
            chosen.sort_by_key(|(order, _)| *order);
            window.spec.monitor_ids = chosen.into_iter().map(|(_, id)| id).collect();
        }
        Ok(windows)
    }

    async fn incidents_where(&self, query: SqlBuilder<B>) -> StoreResult<Vec<Incident>> {
        let rows = query.build().fetch_all(self.read_pool()).await?;
        let incidents = rows
            .iter()
            .map(incident_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        self.with_updates(incidents).await
    }

    /// The windows `statement` selects (`MAINTENANCE_COLUMNS`), with their monitors.
    async fn windows_where(&self, statement: Sql<B>) -> StoreResult<Vec<Maintenance>> {
        let rows = statement.fetch_all(self.read_pool()).await?;
        let windows = rows
            .iter()
            .map(maintenance_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        self.with_monitors(windows).await
    }
}

#[async_trait::async_trait]
impl<B: SqlBackend> StatusNoticeStore for SqlStore<B> {
    async fn create_incident(
        &self,
        incident: &Incident,
        audit: Option<&d::audit::AuditEvent>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(::sqlx::AssertSqlSafe(format!(
            "INSERT INTO incidents ({INCIDENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )))
        .bind(incident.id.as_str())
        .bind(incident.org_id.as_str())
        .bind(incident.page_id.as_str())
        .bind(&incident.title)
        .bind(incident.state.as_str())
        .bind(incident.monitor_id.as_ref().map(|m| m.as_str()))
        .bind(incident.created_at)
        .bind(incident.updated_at)
        .bind(incident.resolved_at)
        .execute(&mut tx)
        .await?;
        for update in &incident.updates {
            insert_update(&mut tx, &incident.id, update).await?;
        }
        commit_maybe_audited(tx, audit).await
    }

    async fn add_incident_update(
        &self,
        incident: &Incident,
        audit: Option<&d::audit::AuditEvent>,
    ) -> StoreResult<()> {
        let update = incident.updates.last().ok_or(StoreError::NotFound)?;
        let mut tx = self.begin_write().await?;
        let done = query::<B>(
            "UPDATE incidents SET state = $1, updated_at = $2, resolved_at = $3 \
             WHERE org_id = $4 AND id = $5",
        )
        .bind(incident.state.as_str())
        .bind(incident.updated_at)
        .bind(incident.resolved_at)
        .bind(incident.org_id.as_str())
        .bind(incident.id.as_str())
        .execute(&mut tx)
        .await?;
        found(done.rows_affected())?;
        insert_update(&mut tx, &incident.id, update).await?;
        commit_maybe_audited(tx, audit).await
    }

    async fn get_incident(
        &self,
        org: &d::OrgId,
        page: &d::StatusPageId,
        id: &d::IncidentId,
    ) -> StoreResult<Option<Incident>> {
        let mut query = SqlBuilder::<B>::new(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE org_id = "
        ));
        query
            .push_bind(org.as_str())
            .push(" AND page_id = ")
            .push_bind(page.as_str())
            .push(" AND id = ")
            .push_bind(id.as_str());
        Ok(self.incidents_where(query).await?.into_iter().next())
    }

    async fn list_incidents(
        &self,
        org: &d::OrgId,
        page: &d::StatusPageId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Incident>> {
        let mut query = SqlBuilder::<B>::new(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE org_id = "
        ));
        query
            .push_bind(org.as_str())
            .push(" AND page_id = ")
            .push_bind(page.as_str());
        let listed = newest_first(
            query,
            cursor,
            limit,
            self.read_pool(),
            incident_from_row,
            |i| i.id.to_string(),
        )
        .await?;
        Ok(Page {
            items: self.with_updates(listed.items).await?,
            next_cursor: listed.next_cursor,
        })
    }

    async fn list_page_incidents(
        &self,
        page: &d::StatusPageId,
        since: Millis,
    ) -> StoreResult<Vec<Incident>> {
        let mut query = SqlBuilder::<B>::new(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE page_id = "
        ));
        query
            .push_bind(page.as_str())
            .push(" AND (state <> 'resolved' OR updated_at >= ")
            .push_bind(since)
            .push(") ORDER BY id DESC");
        self.incidents_where(query).await
    }

    async fn open_incident_for_monitor(
        &self,
        page: &d::StatusPageId,
        monitor: &d::MonitorId,
    ) -> StoreResult<Option<Incident>> {
        let mut query = SqlBuilder::<B>::new(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE monitor_id = "
        ));
        query
            .push_bind(monitor.as_str())
            .push(" AND page_id = ")
            .push_bind(page.as_str())
            .push(" AND state <> 'resolved' ORDER BY id DESC LIMIT 1");
        Ok(self.incidents_where(query).await?.into_iter().next())
    }

    async fn create_maintenance(
        &self,
        window: &Maintenance,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(::sqlx::AssertSqlSafe(format!(
            "INSERT INTO maintenance_windows ({MAINTENANCE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )))
        .bind(window.id.as_str())
        .bind(window.org_id.as_str())
        .bind(window.page_id.as_str())
        .bind(&window.spec.title)
        .bind(&window.spec.message)
        .bind(window.spec.starts_at)
        .bind(window.spec.ends_at)
        .bind(window.created_at)
        .bind(window.updated_at)
        .execute(&mut tx)
        .await?;
        write_maintenance_monitors(&mut tx, window).await?;
        commit_audited(tx, audit).await
    }

    async fn update_maintenance(
        &self,
        window: &Maintenance,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done = query::<B>(
            "UPDATE maintenance_windows SET title = $1, message = $2, starts_at = $3, \
             ends_at = $4, updated_at = $5 WHERE org_id = $6 AND id = $7",
        )
        .bind(&window.spec.title)
        .bind(&window.spec.message)
        .bind(window.spec.starts_at)
        .bind(window.spec.ends_at)
        .bind(window.updated_at)
        .bind(window.org_id.as_str())
        .bind(window.id.as_str())
        .execute(&mut tx)
        .await?;
        found(done.rows_affected())?;
        write_maintenance_monitors(&mut tx, window).await?;
        commit_audited(tx, audit).await
    }

    async fn delete_maintenance(
        &self,
        org: &d::OrgId,
        id: &d::MaintenanceId,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(
            "DELETE FROM maintenance_monitors WHERE maintenance_id IN \
             (SELECT id FROM maintenance_windows WHERE org_id = $1 AND id = $2)",
        )
        .bind(org.as_str())
        .bind(id.as_str())
        .execute(&mut tx)
        .await?;
        let done = query::<B>("DELETE FROM maintenance_windows WHERE org_id = $1 AND id = $2")
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(&mut tx)
            .await?;
        found(done.rows_affected())?;
        commit_audited(tx, audit).await
    }

    async fn get_maintenance(
        &self,
        org: &d::OrgId,
        page: &d::StatusPageId,
        id: &d::MaintenanceId,
    ) -> StoreResult<Option<Maintenance>> {
        let statement = query::<B>(::sqlx::AssertSqlSafe(format!(
            "SELECT {MAINTENANCE_COLUMNS} FROM maintenance_windows \
             WHERE org_id = $1 AND page_id = $2 AND id = $3"
        )))
        .bind(org.as_str())
        .bind(page.as_str())
        .bind(id.as_str());
        Ok(self.windows_where(statement).await?.into_iter().next())
    }

    async fn list_maintenance(
        &self,
        org: &d::OrgId,
        page: &d::StatusPageId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Maintenance>> {
        let mut query = SqlBuilder::<B>::new(format!(
            "SELECT {MAINTENANCE_COLUMNS} FROM maintenance_windows WHERE org_id = "
        ));
        query
            .push_bind(org.as_str())
            .push(" AND page_id = ")
            .push_bind(page.as_str());
        let listed = newest_first(
            query,
            cursor,
            limit,
            self.read_pool(),
            maintenance_from_row,
            |w| w.id.to_string(),
        )
        .await?;
        Ok(Page {
            items: self.with_monitors(listed.items).await?,
            next_cursor: listed.next_cursor,
        })
    }

    async fn list_page_maintenance(
        &self,
        page: &d::StatusPageId,
        since: Millis,
    ) -> StoreResult<Vec<Maintenance>> {
        let statement = query::<B>(::sqlx::AssertSqlSafe(format!(
            "SELECT {MAINTENANCE_COLUMNS} FROM maintenance_windows \
             WHERE page_id = $1 AND ends_at > $2 ORDER BY starts_at, id"
        )))
        .bind(page.as_str())
        .bind(since);
        self.windows_where(statement).await
    }

    async fn in_maintenance(&self, monitor: &d::MonitorId, at: Millis) -> StoreResult<bool> {
        let row = query::<B>(
            "SELECT 1 AS one FROM maintenance_monitors mm \
             JOIN maintenance_windows w ON w.id = mm.maintenance_id \
             WHERE mm.monitor_id = $1 AND w.starts_at <= $2 AND w.ends_at > $2 LIMIT 1",
        )
        .bind(monitor.as_str())
        .bind(at)
        .fetch_optional(self.read_pool())
        .await?;
        Ok(row.is_some())
    }

    async fn checks_during(
        &self,
        monitor: &d::MonitorId,
        from: Millis,
        to: Millis,
    ) -> StoreResult<Vec<(String, u64, u64)>> {
        // Result ids sort by time, so the range runs over the
        // (monitor_id, id) index; integer division gives the UTC day in
        // both dialects.
        let rows = query::<B>(
            "SELECT created_at / 86400000 AS day_number, COUNT(*) AS checks, \
             SUM(CASE WHEN status = 'fail' THEN 1 ELSE 0 END) AS failed \
             FROM check_results WHERE monitor_id = $1 AND id >= $2 AND id < $3 \
             AND check_type IN ('uptime', 'tcp') AND created_at >= $4 AND created_at < $5 \
             GROUP BY created_at / 86400000",
        )
        .bind(monitor.as_str())
        .bind(d::id::floor_at(from))
        .bind(d::id::floor_at(to + 1))
        .bind(from)
        .bind(to)
        .fetch_all(self.read_pool())
        .await?;
        rows.iter()
            .map(|row| {
                let day_number: i64 = row.get("day_number")?;
                Ok((
                    d::time::day_of(day_number * 86_400_000),
                    row.get::<i64>("checks")? as u64,
                    row.get::<i64>("failed")? as u64,
                ))
            })
            .collect()
    }
}
