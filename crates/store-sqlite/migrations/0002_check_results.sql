-- Raw check results, newest first per monitor; pruned after 90 days.
CREATE TABLE check_results (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    monitor_id TEXT NOT NULL,
    check_type TEXT NOT NULL,
    status TEXT NOT NULL,
    degraded BOOLEAN NOT NULL,
    region TEXT,
    latency_ms BIGINT,
    http_status BIGINT,
    error TEXT,
    details TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX check_results_monitor ON check_results(monitor_id, id);
CREATE INDEX check_results_created ON check_results(created_at);
