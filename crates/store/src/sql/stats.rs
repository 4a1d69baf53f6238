//! Daily rollups, bumped in the transaction that stores a result.

use certsentry_domain as d;

use super::*;
use crate::*;

/// Adds one availability result to its monitor's day (portable SQL: no
/// GREATEST/MAX, which differ between SQLite and Postgres).
pub(super) async fn bump_daily_stats<B: SqlBackend>(
    tx: &mut Tx<B>,
    r: &d::check::CheckResult,
) -> StoreResult<()> {
    let latency = r.latency_ms.map(i64::from);
    query::<B>(
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
    .execute(&mut *tx)
    .await
    ?;
    Ok(())
}

pub(super) fn stats_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<d::stats::DailyStats> {
    Ok(d::stats::DailyStats {
        day: row.get("day")?,
        total_checks: row.get::<i64>("total_checks")? as u64,
        failed_checks: row.get::<i64>("failed_checks")? as u64,
        degraded_checks: row.get::<i64>("degraded_checks")? as u64,
        latency_sum_ms: row.get::<i64>("latency_sum_ms")? as u64,
        latency_count: row.get::<i64>("latency_count")? as u64,
        max_latency_ms: row.get::<i64>("max_latency_ms")? as u32,
        p50_latency_ms: row.get::<Option<i64>>("p50_latency_ms")?.map(|v| v as u32),
        p95_latency_ms: row.get::<Option<i64>>("p95_latency_ms")?.map(|v| v as u32),
        finalized: row.get("finalized")?,
    })
}

#[async_trait::async_trait]
impl<B: SqlBackend> StatsStore for SqlStore<B> {
    async fn list_daily_stats(
        &self,
        org: &d::OrgId,
        monitor: &d::MonitorId,
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<d::stats::DailyStats>> {
        query::<B>(
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
        ?
        .iter()
        .map(stats_from_row)
        .collect()
    }

    async fn list_daily_checks(
        &self,
        monitors: &[d::MonitorId],
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<(d::MonitorId, String, u64, u64)>> {
        // One row per monitor, its days joined as `day:checks:failed`: a
        // status page of 500 monitors reads 500 rows, not 45,000, and rows
        // are what a fetch pays for. The primary key (monitor_id, day)
        // serves the ranges, already in group order.
        let agg = B::STRING_AGG;
        let mut rows = Vec::new();
        for chunk in monitors.chunks(500) {
            let mut statement = SqlBuilder::<B>::new(format!(
                "SELECT monitor_id, {agg}(day || ':' || total_checks || ':' || failed_checks, ',') \
                 AS days FROM daily_stats WHERE day >= "
            ));
            statement
                .push_bind(from)
                .push(" AND day <= ")
                .push_bind(to)
                .push(" AND monitor_id IN (");
            for (i, monitor) in chunk.iter().enumerate() {
                if i > 0 {
                    statement.push(", ");
                }
                statement.push_bind(monitor.as_str());
            }
            statement.push(") GROUP BY monitor_id");
            rows.extend(statement.build().fetch_all(self.read_pool()).await?);
        }
        let mut all = Vec::new();
        for row in &rows {
            let monitor = d::MonitorId::from_string(row.get::<String>("monitor_id")?);
            let days: String = row.get("days")?;
            for entry in days.split(',') {
                let mut parts = entry.split(':');
                let parsed = (|| {
                    let day = parts.next()?.to_string();
                    let checks = parts.next()?.parse().ok()?;
                    let failed = parts.next()?.parse().ok()?;
                    Some((day, checks, failed))
                })();
                let Some((day, checks, failed)) = parsed else {
                    return Err(StoreError::Corrupt(format!("daily_stats entry {entry}")));
                };
                all.push((monitor.clone(), day, checks, failed));
            }
        }
        Ok(all)
    }

    async fn finalize_daily_stats(&self, today: &str) -> StoreResult<u64> {
        let open = query::<B>(
            "SELECT monitor_id, day FROM daily_stats WHERE finalized = FALSE AND day < $1",
        )
        .bind(today)
        .fetch_all(self.read_pool())
        .await?;
        let mut finalized = 0;
        for row in &open {
            let monitor_id: String = row.get("monitor_id")?;
            let day: String = row.get("day")?;
            let Some(date) = d::time::parse_day(&day) else {
                return Err(StoreError::Corrupt(format!("daily_stats day {day}")));
            };
            let (start, end) = d::time::day_bounds(date);
            let latencies: Vec<i64> = query::<B>(
                "SELECT latency_ms FROM check_results WHERE monitor_id = $1 AND id >= $2 \
                 AND id < $3 AND check_type IN ('uptime', 'tcp') AND latency_ms IS NOT NULL",
            )
            .bind(&monitor_id)
            .bind(d::id::floor_at(start))
            .bind(d::id::floor_at(end))
            .fetch_all(self.read_pool())
            .await?
            .iter()
            .map(|r| r.get::<i64>("latency_ms"))
            .collect::<StoreResult<_>>()?;
            let mut sorted: Vec<u32> = latencies.into_iter().map(|v| v as u32).collect();
            sorted.sort_unstable();
            let mut tx = self.begin_write().await?;
            query::<B>(
                "UPDATE daily_stats SET p50_latency_ms = $1, p95_latency_ms = $2, finalized = TRUE \
                 WHERE monitor_id = $3 AND day = $4 AND finalized = FALSE",
            )
            .bind(d::stats::percentile(&sorted, 50).map(i64::from))
            .bind(d::stats::percentile(&sorted, 95).map(i64::from))
            .bind(&monitor_id)
            .bind(&day)
            .execute(&mut tx)
            .await?;
            tx.commit().await?;
            finalized += 1;
        }
        Ok(finalized)
    }
}
