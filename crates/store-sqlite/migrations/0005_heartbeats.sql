-- Heartbeat monitors' ping state. `missed` is claimed with compare-and-swap
-- (UPDATE ... WHERE missed = FALSE AND last_ping_at = $seen) so a miss is
-- recorded once even with several nodes on one database.
CREATE TABLE heartbeats (
    monitor_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    last_ping_at BIGINT NOT NULL,
    last_ping_ok BOOLEAN NOT NULL,
    missed BOOLEAN NOT NULL
);
