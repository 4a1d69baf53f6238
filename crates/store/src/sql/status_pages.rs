//! Status pages and their monitor entries.

use certsentry_domain as d;

use super::orgs::*;
use super::*;
use crate::*;

pub(super) const COUNT_PAGES: &str = "SELECT COUNT(*) AS n FROM status_pages WHERE org_id = $1";

pub(super) async fn write_page_monitors<B: SqlBackend>(
    tx: &mut Tx<B>,
    page: &d::status_page::StatusPage,
) -> StoreResult<()> {
    query::<B>("DELETE FROM status_page_monitors WHERE page_id = $1")
        .bind(page.id.as_str())
        .execute(&mut *tx)
        .await?;
    for (order, m) in page.spec.monitors.iter().enumerate() {
        query::<B>(
            "INSERT INTO status_page_monitors (page_id, monitor_id, sort_order, \
             public_label, show_target, show_cert_health) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(page.id.as_str())
        .bind(m.monitor_id.as_str())
        .bind(order as i64)
        .bind(&m.public_label)
        .bind(m.show_target)
        .bind(m.show_cert_health)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

impl<B: SqlBackend> SqlStore<B> {
    async fn load_pages(
        &self,
        org: &d::OrgId,
        id: Option<&d::StatusPageId>,
    ) -> StoreResult<Vec<d::status_page::StatusPage>> {
        let mut sql = String::from(
            "SELECT id, org_id, slug, title, description, enabled, embed_origins, created_at, \
             updated_at FROM status_pages WHERE org_id = $1",
        );
        if id.is_some() {
            sql.push_str(" AND id = $2");
        }
        sql.push_str(" ORDER BY id");
        let mut pages_query = query::<B>(::sqlx::AssertSqlSafe(sql)).bind(org.as_str());
        if let Some(id) = id {
            pages_query = pages_query.bind(id.as_str());
        }
        let rows = pages_query.fetch_all(self.read_pool()).await?;
        let mut pages = Vec::with_capacity(rows.len());
        for row in &rows {
            let page_id: String = row.get("id")?;
            let entries = query::<B>(
                "SELECT monitor_id, public_label, show_target, show_cert_health \
                 FROM status_page_monitors WHERE page_id = $1 ORDER BY sort_order",
            )
            .bind(&page_id)
            .fetch_all(self.read_pool())
            .await?;
            let monitors = entries
                .iter()
                .map(|e| {
                    Ok(d::status_page::StatusPageMonitor {
                        monitor_id: d::MonitorId::from_string(e.get::<String>("monitor_id")?),
                        public_label: e.get("public_label")?,
                        show_target: e.get("show_target")?,
                        show_cert_health: e.get("show_cert_health")?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            pages.push(d::status_page::StatusPage {
                id: d::StatusPageId::from_string(page_id),
                org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
                spec: d::status_page::StatusPageSpec {
                    slug: row.get("slug")?,
                    title: row.get("title")?,
                    description: row.get("description")?,
                    enabled: row.get("enabled")?,
                    monitors,
                    embed_origins: serde_json::from_str(&row.get::<String>("embed_origins")?)
                        .map_err(|e| StoreError::Corrupt(format!("embed_origins: {e}")))?,
                },
                created_at: row.get("created_at")?,
                updated_at: row.get("updated_at")?,
            });
        }
        Ok(pages)
    }
}

#[async_trait::async_trait]
impl<B: SqlBackend> StatusPageStore for SqlStore<B> {
    async fn create_status_page(
        &self,
        page: &d::status_page::StatusPage,
        max_pages: u32,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        lock_org(&mut tx, &page.org_id).await?;
        if count_in(&mut tx, COUNT_PAGES, &page.org_id).await? >= max_pages as u64 {
            return Err(StoreError::QuotaExceeded { limit: max_pages });
        }
        query::<B>(
            "INSERT INTO status_pages (id, org_id, slug, title, description, enabled, \
             created_at, updated_at, embed_origins) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(page.id.as_str())
        .bind(page.org_id.as_str())
        .bind(&page.spec.slug)
        .bind(&page.spec.title)
        .bind(page.spec.description.as_deref())
        .bind(page.spec.enabled)
        .bind(page.created_at)
        .bind(page.updated_at)
        .bind(embed_origins_json(page))
        .execute(&mut tx)
        .await
        .map_err(conflict_or("slug"))?;
        write_page_monitors(&mut tx, page).await?;
        commit_audited(tx, audit).await
    }

    async fn get_status_page(
        &self,
        org: &d::OrgId,
        id: &d::StatusPageId,
    ) -> StoreResult<Option<d::status_page::StatusPage>> {
        Ok(self.load_pages(org, Some(id)).await?.into_iter().next())
    }

    async fn get_status_page_by_slug(
        &self,
        slug: &str,
    ) -> StoreResult<Option<d::status_page::StatusPage>> {
        let row = query::<B>("SELECT id, org_id FROM status_pages WHERE slug = $1")
            .bind(slug)
            .fetch_optional(self.read_pool())
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let org = d::OrgId::from_string(row.get::<String>("org_id")?);
        let id = d::StatusPageId::from_string(row.get::<String>("id")?);
        Ok(self.load_pages(&org, Some(&id)).await?.into_iter().next())
    }

    async fn list_status_pages(
        &self,
        org: &d::OrgId,
    ) -> StoreResult<Vec<d::status_page::StatusPage>> {
        self.load_pages(org, None).await
    }

    async fn update_status_page(
        &self,
        page: &d::status_page::StatusPage,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done = query::<B>(
            "UPDATE status_pages SET slug = $1, title = $2, description = $3, enabled = $4, \
             updated_at = $5, embed_origins = $8 WHERE org_id = $6 AND id = $7",
        )
        .bind(&page.spec.slug)
        .bind(&page.spec.title)
        .bind(page.spec.description.as_deref())
        .bind(page.spec.enabled)
        .bind(page.updated_at)
        .bind(page.org_id.as_str())
        .bind(page.id.as_str())
        .bind(embed_origins_json(page))
        .execute(&mut tx)
        .await
        .map_err(conflict_or("slug"))?;
        found(done.rows_affected())?;
        write_page_monitors(&mut tx, page).await?;
        commit_audited(tx, audit).await
    }

    async fn delete_status_page(
        &self,
        org: &d::OrgId,
        id: &d::StatusPageId,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>("DELETE FROM status_page_monitors WHERE page_id IN (SELECT id FROM status_pages WHERE org_id = $1 AND id = $2)")
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(&mut tx)
            .await
            ?;
        let done = query::<B>("DELETE FROM status_pages WHERE org_id = $1 AND id = $2")
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(&mut tx)
            .await?;
        found(done.rows_affected())?;
        commit_audited(tx, audit).await
    }
}

/// The page's embed origins as stored: a JSON array.
fn embed_origins_json(page: &d::status_page::StatusPage) -> String {
    serde_json::to_string(&page.spec.embed_origins).expect("strings always serialize")
}
