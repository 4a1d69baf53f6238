//! certwatch's tables in PostgreSQL ([`CertwatchTables`]). No migrations
//! run here: the database belongs to the certwatch deployment, whose
//! operator applies [`SCHEMA`] once. Connecting checks that the tables are
//! there and says what is missing.

use std::time::Duration;

use certsentry_notify::format::certwatch::FIELDS as CERTWATCH_FIELDS;
use certsentry_store::{StoreError, StoreResult};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};

use crate::tables::{CertKeys, CertwatchTables, NewAlert, StoredAlert};

/// `schema.sql`: creates `certs` and `alerts` (and a stand-in
/// `intent_current`), and adds CertSentry's columns to an older `alerts`.
pub const SCHEMA: &str = include_str!("../schema.sql");

/// The `alerts` columns besides the payload's fields (certwatch's, then
/// CertSentry's additions).
const ALERT_COLUMNS: &[&str] = &[
    "id",
    "payload",
    "delivered",
    "created_at",
    "tbs_sha256",
    "cert_sha256",
    "decided_at",
    "attempts",
    "last_error",
    "next_attempt_at",
    "delivered_at",
];

/// `certs` columns that may hold a certificate hash, by the names
/// inventories use.
const INVENTORY_COLUMNS: &[&str] = &[
    "fingerprint_sha1",
    "fingerprint",
    "sha1",
    "sha1_fingerprint",
    "fingerprint_sha256",
    "sha256",
    "sha256_fingerprint",
    "cert_sha256",
    "tbs_sha256",
];

#[derive(Debug, thiserror::Error)]
pub enum CertwatchSchemaError {
    #[error("connecting to POSTGRES_DSN")]
    Connect(#[source] sqlx::Error),
    #[error("reading the schema")]
    Query(#[source] sqlx::Error),
    #[error(
        "{0}; apply the schema first: certsentry certwatch --print-schema | psql \"$POSTGRES_DSN\""
    )]
    Missing(String),
}

pub struct PgCertwatch {
    pool: PgPool,
    /// `SELECT EXISTS (… FROM public.certs WHERE col = ANY($1) OR …)`.
    inventory_query: String,
}

fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

async fn columns(pool: &PgPool, table: &str) -> Result<Vec<String>, CertwatchSchemaError> {
    sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = $1",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .map_err(CertwatchSchemaError::Query)
}

impl PgCertwatch {
    /// Connects and checks `alerts`, `certs` and `intent_current`.
    pub async fn connect(dsn: &str) -> Result<Self, CertwatchSchemaError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect(dsn)
            .await
            .map_err(CertwatchSchemaError::Connect)?;
        let alerts = columns(&pool, "alerts").await?;
        let missing: Vec<&str> = CERTWATCH_FIELDS
            .iter()
            .chain(ALERT_COLUMNS)
            .filter(|c| !alerts.iter().any(|a| a == *c))
            .copied()
            .collect();
        if alerts.is_empty() {
            return Err(CertwatchSchemaError::Missing(
                "public.alerts does not exist".into(),
            ));
        }
        if !missing.is_empty() {
            return Err(CertwatchSchemaError::Missing(format!(
                "public.alerts lacks the columns {}",
                missing.join(", ")
            )));
        }
        if !columns(&pool, "intent_current")
            .await?
            .iter()
            .any(|c| c == "fqdn")
        {
            return Err(CertwatchSchemaError::Missing(
                "public.intent_current (fqdn) does not exist".into(),
            ));
        }
        let certs = columns(&pool, "certs").await?;
        let hashes: Vec<&str> = INVENTORY_COLUMNS
            .iter()
            .filter(|c| certs.iter().any(|have| have == *c))
            .copied()
            .collect();
        if hashes.is_empty() {
            return Err(CertwatchSchemaError::Missing(format!(
                "public.certs has none of the fingerprint columns {}",
                INVENTORY_COLUMNS.join(", ")
            )));
        }
        // Column names come from the fixed list above, never from input.
        let inventory_query = format!(
            "SELECT EXISTS (SELECT 1 FROM public.certs WHERE {})",
            hashes
                .iter()
                .map(|c| format!("{c}::text = ANY($1)"))
                .collect::<Vec<_>>()
                .join(" OR ")
        );
        Ok(Self {
            pool,
            inventory_query,
        })
    }
}

fn stored_alert(row: &PgRow) -> StoreResult<StoredAlert> {
    let text = |name: &str| -> StoreResult<String> {
        Ok(row
            .try_get::<Option<String>, _>(name)
            .map_err(backend)?
            .unwrap_or_default())
    };
    Ok(StoredAlert {
        id: row.try_get("id").map_err(backend)?,
        keys: CertKeys {
            fingerprint_sha1: text("fingerprint_sha1")?,
            cert_sha256: text("cert_sha256")?,
            tbs_sha256: text("tbs_sha256")?,
        },
        payload: row
            .try_get::<sqlx::types::Json<serde_json::Value>, _>("payload")
            .map_err(backend)?
            .0,
        attempts: row.try_get::<i32, _>("attempts").map_err(backend)?.max(0) as u32,
    })
}

const STORED_ALERT: &str = "id, fingerprint_sha1, cert_sha256, tbs_sha256, payload, attempts";

#[async_trait::async_trait]
impl CertwatchTables for PgCertwatch {
    async fn watched_names(&self) -> StoreResult<Vec<String>> {
        sqlx::query_scalar("SELECT fqdn::text FROM public.intent_current WHERE fqdn IS NOT NULL")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)
    }

    async fn in_inventory(&self, keys: &CertKeys) -> StoreResult<bool> {
        let spellings = keys.spellings();
        if spellings.is_empty() {
            return Ok(false);
        }
        sqlx::query_scalar(sqlx::AssertSqlSafe(self.inventory_query.as_str()))
            .bind(spellings)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)
    }

    async fn insert_alert(&self, alert: &NewAlert) -> StoreResult<Option<i64>> {
        // One source of truth: the columns are read out of the payload.
        sqlx::query_scalar(
            "INSERT INTO public.alerts (fingerprint_sha1, severity, matched_entries, matched_sans, \
               all_sans, issuer_o, issuer_cn, not_before, not_after, lifetime_days, source_log, \
               cert_link, serial, update_type, seen_at, payload, delivered, tbs_sha256, cert_sha256, \
               decided_at, next_attempt_at) \
             SELECT p->>'fingerprint_sha1', p->>'severity', p->'matched_entries', p->'matched_sans', \
               p->'all_sans', p->>'issuer_o', p->>'issuer_cn', \
               to_timestamp((p->>'not_before')::double precision), \
               to_timestamp((p->>'not_after')::double precision), \
               (p->>'lifetime_days')::double precision, p->>'source_log', p->>'cert_link', \
               p->>'serial', p->>'update_type', to_timestamp((p->>'seen_at')::double precision), \
               p, false, $2, $3, CASE WHEN $4 THEN now() END, CASE WHEN $5 THEN now() END \
             FROM (SELECT $1::jsonb AS p) AS input \
             ON CONFLICT (tbs_sha256) DO NOTHING RETURNING id",
        )
        .bind(sqlx::types::Json(&alert.payload))
        .bind(&alert.keys.tbs_sha256)
        .bind(&alert.keys.cert_sha256)
        .bind(alert.decided)
        .bind(alert.deliver)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)
    }

    async fn undecided_alerts(&self, grace: Duration, limit: u32) -> StoreResult<Vec<StoredAlert>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STORED_ALERT} FROM public.alerts \
             WHERE decided_at IS NULL AND created_at <= now() - make_interval(secs => $1) \
             ORDER BY created_at, id LIMIT $2"
        )))
        .bind(grace.as_secs_f64())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(stored_alert).collect()
    }

    async fn decide_alert(
        &self,
        id: i64,
        payload: &serde_json::Value,
        deliver: bool,
    ) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE public.alerts SET payload = $2, severity = $2::jsonb->>'severity', \
               decided_at = now(), next_attempt_at = CASE WHEN $3 THEN now() END \
             WHERE id = $1 AND decided_at IS NULL",
        )
        .bind(id)
        .bind(sqlx::types::Json(payload))
        .bind(deliver)
        .execute(&self.pool)
        .await
        .map_err(backend)?
        .rows_affected();
        Ok(updated > 0)
    }

    async fn due_deliveries(&self, limit: u32) -> StoreResult<Vec<StoredAlert>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STORED_ALERT} FROM public.alerts \
             WHERE NOT delivered AND next_attempt_at IS NOT NULL AND next_attempt_at <= now() \
               AND decided_at IS NOT NULL \
             ORDER BY next_attempt_at, id LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(stored_alert).collect()
    }

    async fn record_delivery(
        &self,
        id: i64,
        attempts: u32,
        error: Option<&str>,
        retry_in: Duration,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE public.alerts SET attempts = attempts + $2, \
               delivered = ($3::text IS NULL), \
               delivered_at = CASE WHEN $3::text IS NULL THEN now() END, \
               last_error = $3, \
               next_attempt_at = CASE WHEN $3::text IS NULL THEN NULL \
                                      ELSE now() + make_interval(secs => $4) END \
             WHERE id = $1",
        )
        .bind(id)
        .bind(attempts as i32)
        .bind(error)
        .bind(retry_in.as_secs_f64())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn prune_alerts(&self, retention: Duration) -> StoreResult<u64> {
        Ok(sqlx::query(
            "DELETE FROM public.alerts WHERE created_at < now() - make_interval(secs => $1)",
        )
        .bind(retention.as_secs_f64())
        .execute(&self.pool)
        .await
        .map_err(backend)?
        .rows_affected())
    }
}
