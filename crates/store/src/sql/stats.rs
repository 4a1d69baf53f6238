//! Daily rollups, bumped in the transaction that stores a result.

use certsentry_domain as d;

use super::*;
use crate::*;

/// Adds one availability result to its monitor's day (portable SQL: no
/// GREATEST/MAX, which differ between SQLite and Postgres).
/// One day of one monitor's counters, summed over a batch of results.
#[derive(Default)]
struct DayBump {
    org_id: String,
    checks: i64,
    failed: i64,
    degraded: i64,
    latency_sum: i64,
    latency_count: i64,
    max_latency: i64,
}

/// Adds availability results to their days' rollups: summed per monitor
/// and day first, then one multi-row upsert per chunk, in key order (so
/// two batches about the same monitors lock their rows in one order).
pub(super) async fn bump_daily_stats<B: SqlBackend>(
    tx: &mut Tx<B>,
    results: &[&d::check::CheckResult],
) -> StoreResult<()> {
    let mut days: std::collections::BTreeMap<(String, String), DayBump> = Default::default();
    for r in results {
        let key = (r.monitor_id.to_string(), d::time::day_of(r.created_at));
        let day = days.entry(key).or_default();
        day.org_id = r.org_id.to_string();
        day.checks += 1;
        day.failed += i64::from(r.status == d::check::CheckStatus::Fail);
        day.degraded += i64::from(r.degraded);
        if let Some(latency) = r.latency_ms.map(i64::from) {
            day.latency_sum += latency;
            day.latency_count += 1;
            day.max_latency = day.max_latency.max(latency);
        }
    }
    let days: Vec<_> = days.into_iter().collect();
    // 12 binds a row.
    for chunk in days.chunks(1000) {
        let mut upsert = SqlBuilder::<B>::new(
            "INSERT INTO daily_stats (monitor_id, org_id, day, total_checks, failed_checks, \
             degraded_checks, latency_sum_ms, latency_count, max_latency_ms, p50_latency_ms, \
             p95_latency_ms, finalized) ",
        );
        upsert.push_values(chunk, |mut row, ((monitor, day), bump)| {
            row.push_bind(monitor.as_str())
                .push_bind(bump.org_id.as_str())
                .push_bind(day.as_str())
                .push_bind(bump.checks)
                .push_bind(bump.failed)
                .push_bind(bump.degraded)
                .push_bind(bump.latency_sum)
                .push_bind(bump.latency_count)
                .push_bind(bump.max_latency)
                .push_bind(None::<i64>)
                .push_bind(None::<i64>)
                .push_bind(false);
        });
        upsert.push(
            " ON CONFLICT (monitor_id, day) DO UPDATE SET \
             total_checks = daily_stats.total_checks + excluded.total_checks, \
             failed_checks = daily_stats.failed_checks + excluded.failed_checks, \
             degraded_checks = daily_stats.degraded_checks + excluded.degraded_checks, \
             latency_sum_ms = daily_stats.latency_sum_ms + excluded.latency_sum_ms, \
             latency_count = daily_stats.latency_count + excluded.latency_count, \
             max_latency_ms = CASE WHEN excluded.max_latency_ms > daily_stats.max_latency_ms \
               THEN excluded.max_latency_ms ELSE daily_stats.max_latency_ms END",
        );
        upsert.build().execute(&mut *tx).await?;
    }
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
                .push(" AND monitor_id")
                .push_in(chunk.iter().map(|m| m.as_str()))
                .push(" GROUP BY monitor_id");
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
