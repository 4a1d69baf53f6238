//! Agent tokens, region jobs under leases, and uploaded results stored
//! once per idempotency key.

use std::collections::HashSet;

use certsentry_domain as d;

use super::monitors::monitor_from_row;
use super::results::insert_result_rows;
use super::*;
use crate::*;

const TOKEN_COLUMNS: &str =
    "id, region, name, token_hash, hint, created_at, last_seen_at, revoked_at";

fn token_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<d::agent::AgentToken> {
    Ok(d::agent::AgentToken {
        id: d::AgentTokenId::from_string(row.get::<String>("id")?),
        region: row.get("region")?,
        name: row.get("name")?,
        hash: row.get("token_hash")?,
        hint: row.get("hint")?,
        created_at: row.get("created_at")?,
        last_seen_at: row.get("last_seen_at")?,
        revoked_at: row.get("revoked_at")?,
    })
}

/// Keeps a monitor's job rows in step with its definition, inside the
/// monitor write's transaction: one row per region its uptime (or TCP)
/// check runs in, and one for the server nodes' part
/// ([`d::agent::SERVER_JOBS`]); none for what it does not run. Leases
/// already held stay with their holders.
pub(super) async fn sync_check_jobs<B: SqlBackend>(
    tx: &mut Tx<B>,
    m: &d::monitor::Monitor,
) -> StoreResult<()> {
    let mut wanted: Vec<(&str, i64)> = Vec::new();
    if let Some((interval, regions)) = d::agent::agent_check(&m.spec) {
        let lease = d::agent::lease_ms(interval);
        wanted.extend(regions.iter().map(|r| (r.as_str(), lease)));
    }
    if d::agent::server_runs(&m.spec) {
        wanted.push((d::agent::SERVER_JOBS, d::agent::SERVER_LEASE_MS));
    }
    let mut stale = SqlBuilder::<B>::new("DELETE FROM check_jobs WHERE monitor_id = ");
    stale.push_bind(m.id.as_str());
    if !wanted.is_empty() {
        stale
            .push(" AND region")
            .push_not_in(wanted.iter().map(|(region, _)| *region));
    }
    stale.build().execute(&mut *tx).await?;
    if wanted.is_empty() {
        return Ok(());
    }
    let mut insert = SqlBuilder::<B>::new(
        "INSERT INTO check_jobs (monitor_id, region, org_id, lease_ms, holder, lease_until) ",
    );
    insert.push_values(&wanted, |mut row, (region, lease)| {
        row.push_bind(m.id.as_str())
            .push_bind(*region)
            .push_bind(m.org_id.as_str())
            .push_bind(*lease)
            .push_bind(None::<&str>)
            .push_bind(0i64);
    });
    insert.push(" ON CONFLICT (monitor_id, region) DO UPDATE SET lease_ms = excluded.lease_ms");
    insert.build().execute(&mut *tx).await?;
    Ok(())
}

#[async_trait::async_trait]
impl<B: SqlBackend> AgentStore for SqlStore<B> {
    async fn create_agent_token(&self, token: &d::agent::AgentToken) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(
            "INSERT INTO agent_tokens (id, region, name, token_hash, hint, created_at, \
             last_seen_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(token.id.as_str())
        .bind(token.region.as_str())
        .bind(token.name.as_str())
        .bind(token.hash.as_str())
        .bind(token.hint.as_str())
        .bind(token.created_at)
        .bind(token.last_seen_at)
        .bind(token.revoked_at)
        .execute(&mut tx)
        .await?;
        tx.commit().await.map_err(StoreError::from)
    }

    async fn list_agent_tokens(&self) -> StoreResult<Vec<d::agent::AgentToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM agent_tokens ORDER BY region, id");
        query::<B>(::sqlx::AssertSqlSafe(sql))
            .fetch_all(self.read_pool())
            .await?
            .iter()
            .map(token_from_row)
            .collect()
    }

    async fn find_agent_token(&self, hash: &str) -> StoreResult<Option<d::agent::AgentToken>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM agent_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
        );
        query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(hash)
            .fetch_optional(self.read_pool())
            .await?
            .as_ref()
            .map(token_from_row)
            .transpose()
    }

    async fn revoke_agent_token(
        &self,
        id: &d::AgentTokenId,
        at: d::time::Millis,
    ) -> StoreResult<d::agent::AgentToken> {
        let mut tx = self.begin_write().await?;
        query::<B>("UPDATE agent_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(at)
            .bind(id.as_str())
            .execute(&mut tx)
            .await?;
        // Its jobs are free for the region's other agents at once.
        query::<B>("UPDATE check_jobs SET holder = NULL, lease_until = 0 WHERE holder = $1")
            .bind(id.as_str())
            .execute(&mut tx)
            .await?;
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM agent_tokens WHERE id = $1");
        let token = query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&mut tx)
            .await?
            .as_ref()
            .map(token_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(token)
    }

    async fn touch_agent_token(
        &self,
        id: &d::AgentTokenId,
        at: d::time::Millis,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(
            "UPDATE agent_tokens SET last_seen_at = $1 WHERE id = $2 \
             AND (last_seen_at IS NULL OR last_seen_at < $1)",
        )
        .bind(at)
        .bind(id.as_str())
        .execute(&mut tx)
        .await?;
        tx.commit().await.map_err(StoreError::from)
    }

    async fn claim_jobs(&self, claim: &JobClaim<'_>) -> StoreResult<HeldJobs> {
        let mut tx = self.begin_write().await?;
        // Renewed once past half their lease: often enough, and far fewer
        // writes than renewing every lease at every poll.
        query::<B>(
            "UPDATE check_jobs SET lease_until = $1 + lease_ms WHERE holder = $2 AND region = $3 \
             AND lease_until < $1 + lease_ms / 2",
        )
        .bind(claim.now)
        .bind(claim.holder)
        .bind(claim.region)
        .execute(&mut tx)
        .await?;
        let total: i64 = query::<B>("SELECT COUNT(*) AS n FROM check_jobs WHERE region = $1")
            .bind(claim.region)
            .fetch_one(&mut tx)
            .await?
            .get("n")?;
        let held: i64 =
            query::<B>("SELECT COUNT(*) AS n FROM check_jobs WHERE region = $1 AND holder = $2")
                .bind(claim.region)
                .bind(claim.holder)
                .fetch_one(&mut tx)
                .await?
                .get("n")?;
        let sharers = i64::from(claim.sharers.max(1));
        let fair = (total + sharers - 1) / sharers;
        if held > fair {
            // Let the excess go to the region's newer agents, once this
            // one has had time to stop checking it (RELEASE_GRACE_MS).
            let sql = format!(
                "UPDATE check_jobs SET holder = NULL, lease_until = $4 WHERE region = $1 \
                 AND monitor_id IN (SELECT monitor_id FROM check_jobs WHERE region = $1 \
                 AND holder = $2 ORDER BY monitor_id DESC LIMIT $3{})",
                B::CLAIM_LOCK
            );
            query::<B>(::sqlx::AssertSqlSafe(sql))
                .bind(claim.region)
                .bind(claim.holder)
                .bind(held - fair)
                .bind(claim.now + d::agent::RELEASE_GRACE_MS)
                .execute(&mut tx)
                .await?;
        }
        let room = (fair - held).clamp(0, i64::from(claim.capacity));
        let claimed = if room > 0 {
            let sql = format!(
                "UPDATE check_jobs SET holder = $1, lease_until = $2 + lease_ms \
                 WHERE region = $3 AND monitor_id IN (SELECT monitor_id FROM check_jobs \
                 WHERE region = $3 AND lease_until <= $2 ORDER BY lease_until LIMIT $4{})",
                B::CLAIM_LOCK
            );
            query::<B>(::sqlx::AssertSqlSafe(sql))
                .bind(claim.holder)
                .bind(claim.now)
                .bind(claim.region)
                .bind(room)
                .execute(&mut tx)
                .await?
                .rows_affected() as usize
        } else {
            0
        };
        let sql = format!(
            "SELECT {MONITOR_COLUMNS} FROM monitors WHERE id IN (SELECT monitor_id FROM \
             check_jobs WHERE holder = $1 AND region = $2) ORDER BY id"
        );
        let jobs = query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(claim.holder)
            .bind(claim.region)
            .fetch_all(&mut tx)
            .await?
            .iter()
            .map(monitor_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok(HeldJobs { jobs, claimed })
    }

    async fn region_orgs(&self, region: &str) -> StoreResult<Vec<d::OrgId>> {
        query::<B>("SELECT DISTINCT org_id FROM check_jobs WHERE region = $1 ORDER BY org_id")
            .bind(region)
            .fetch_all(self.read_pool())
            .await?
            .iter()
            .map(|row| Ok(d::OrgId::from_string(row.get::<String>("org_id")?)))
            .collect()
    }

    async fn monitors_version(&self) -> StoreResult<String> {
        let row =
            query::<B>("SELECT COUNT(*) AS n, COALESCE(MAX(updated_at), 0) AS at FROM monitors")
                .fetch_one(self.read_pool())
                .await?;
        Ok(format!(
            "{}:{}",
            row.get::<i64>("n")?,
            row.get::<i64>("at")?
        ))
    }

    async fn touch_server_node(&self, node: &ServerNode) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(
            "INSERT INTO server_nodes (id, started_at, last_seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
        )
        .bind(node.id.as_str())
        .bind(node.started_at)
        .bind(node.last_seen_at)
        .execute(&mut tx)
        .await?;
        // Nodes gone for a day are forgotten.
        query::<B>("DELETE FROM server_nodes WHERE last_seen_at < $1")
            .bind(node.last_seen_at - 86_400_000)
            .execute(&mut tx)
            .await?;
        tx.commit().await.map_err(StoreError::from)
    }

    async fn list_server_nodes(&self) -> StoreResult<Vec<ServerNode>> {
        query::<B>(
            "SELECT id, started_at, last_seen_at FROM server_nodes ORDER BY last_seen_at DESC, id",
        )
        .fetch_all(self.read_pool())
        .await?
        .iter()
        .map(|row| {
            Ok(ServerNode {
                id: row.get("id")?,
                started_at: row.get("started_at")?,
                last_seen_at: row.get("last_seen_at")?,
            })
        })
        .collect()
    }

    async fn lead(
        &self,
        name: &str,
        holder: &str,
        now: d::time::Millis,
        lease_ms: d::time::Millis,
    ) -> StoreResult<Option<i64>> {
        let mut tx = self.begin_write().await?;
        query::<B>(
            "INSERT INTO leaderships (name, holder, epoch, lease_until) VALUES ($1, $2, 0, 0) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(holder)
        .execute(&mut tx)
        .await?;
        let taken = query::<B>(
            "UPDATE leaderships SET epoch = CASE WHEN holder = $2 AND lease_until > 0 \
             THEN epoch ELSE epoch + 1 END, holder = $2, lease_until = $3 \
             WHERE name = $1 AND (holder = $2 OR lease_until <= $4) RETURNING epoch",
        )
        .bind(name)
        .bind(holder)
        .bind(now + lease_ms)
        .bind(now)
        .fetch_optional(&mut tx)
        .await?
        .map(|row| row.get::<i64>("epoch"))
        .transpose()?;
        tx.commit().await?;
        Ok(taken)
    }

    async fn held_job_counts(&self, now: d::time::Millis) -> StoreResult<Vec<(String, u64)>> {
        query::<B>(
            "SELECT holder, COUNT(*) AS n FROM check_jobs WHERE holder IS NOT NULL \
             AND lease_until > $1 GROUP BY holder ORDER BY holder",
        )
        .bind(now)
        .fetch_all(self.read_pool())
        .await?
        .iter()
        .map(|row| Ok((row.get::<String>("holder")?, row.get::<i64>("n")? as u64)))
        .collect()
    }

    async fn region_job_monitors(
        &self,
        region: &str,
        ids: &[String],
    ) -> StoreResult<Vec<d::monitor::Monitor>> {
        let mut found = Vec::new();
        for chunk in ids.chunks(500) {
            let mut sql = SqlBuilder::<B>::new(format!(
                "SELECT {MONITOR_COLUMNS} FROM monitors WHERE id IN (SELECT monitor_id FROM \
                 check_jobs WHERE region = "
            ));
            sql.push_bind(region);
            sql.push(" AND monitor_id")
                .push_in(chunk.iter().map(|id| id.as_str()))
                .push(")");
            for row in sql.build().fetch_all(self.read_pool()).await? {
                found.push(monitor_from_row(&row)?);
            }
        }
        Ok(found)
    }

    async fn record_keyed_results(
        &self,
        results: &[KeyedResult],
        forget_before: d::time::Millis,
    ) -> StoreResult<Vec<bool>> {
        let mut tx = self.begin_write().await?;
        query::<B>("DELETE FROM agent_result_keys WHERE received_at < $1")
            .bind(forget_before)
            .execute(&mut tx)
            .await?;
        let now = d::time::now_ms();
        let mut fresh: HashSet<String> = HashSet::new();
        let mut unique: Vec<&str> = results.iter().map(|r| r.key.as_str()).collect();
        unique.sort_unstable();
        unique.dedup();
        for chunk in unique.chunks(1000) {
            let mut insert = SqlBuilder::<B>::new(
                "INSERT INTO agent_result_keys (idempotency_key, received_at) ",
            );
            insert.push_values(chunk, |mut row, key| {
                row.push_bind(*key).push_bind(now);
            });
            insert.push(" ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key");
            for row in insert.build().fetch_all(&mut tx).await? {
                fresh.insert(row.get::<String>("idempotency_key")?);
            }
        }
        // A key repeated inside one batch counts once: its first result.
        let mut new = Vec::with_capacity(results.len());
        let mut stored = Vec::new();
        for keyed in results {
            let is_new = fresh.remove(&keyed.key);
            if is_new {
                stored.push(keyed.result.clone());
            }
            new.push(is_new);
        }
        // Rollup rows are locked in monitor order, so that two uploads
        // about the same monitors (their regions' agents) wait for each
        // other rather than deadlock.
        stored.sort_by(|a, b| {
            (a.monitor_id.as_str(), a.created_at).cmp(&(b.monitor_id.as_str(), b.created_at))
        });
        insert_result_rows(&mut tx, &stored).await?;
        tx.commit().await?;
        Ok(new)
    }
}
