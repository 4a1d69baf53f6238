-- Per-UTC-day uptime/latency rollups per monitor. Counters are bumped in the
-- transaction that stores each uptime/TCP result; p50/p95 are written once
-- when a past day is finalized.
CREATE TABLE daily_stats (
    monitor_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    day TEXT NOT NULL,
    total_checks BIGINT NOT NULL,
    failed_checks BIGINT NOT NULL,
    degraded_checks BIGINT NOT NULL,
    latency_sum_ms BIGINT NOT NULL,
    latency_count BIGINT NOT NULL,
    max_latency_ms BIGINT NOT NULL,
    p50_latency_ms BIGINT,
    p95_latency_ms BIGINT,
    finalized BOOLEAN NOT NULL,
    PRIMARY KEY (monitor_id, day)
);
CREATE INDEX daily_stats_open ON daily_stats(finalized, day);
