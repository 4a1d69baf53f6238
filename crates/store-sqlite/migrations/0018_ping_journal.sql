-- Healthy heartbeat pings are appended here and folded into check_results
-- and heartbeats in bulk (see the store's ping_journal module): an append
-- fills pages in order, where writing each ping in place touched two
-- pages of its own. The columns are check_results' plus the ping's.
CREATE TABLE ping_journal (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
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
    created_at BIGINT NOT NULL,
    last_ping_at BIGINT NOT NULL,
    last_ping_ok BOOLEAN NOT NULL
);
