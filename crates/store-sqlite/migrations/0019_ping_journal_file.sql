-- The ping journal moves to a database file of its own (the store's
-- ping_journal module), so appending pings no longer waits while the main
-- writer folds. Whatever the in-database journal still holds (what a crash
-- left) is folded here, as a fold would, and the table goes.
INSERT INTO check_results (id, org_id, monitor_id, check_type, status, degraded,
    region, latency_ms, http_status, error, details, created_at)
SELECT id, org_id, monitor_id, check_type, status, degraded, region, latency_ms,
    http_status, error, details, created_at FROM main.ping_journal j
WHERE EXISTS (SELECT 1 FROM monitors m WHERE m.id = j.monitor_id)
ORDER BY monitor_id, id
ON CONFLICT (id) DO NOTHING;
INSERT INTO heartbeats (monitor_id, org_id, last_ping_at, last_ping_ok, missed)
SELECT monitor_id, org_id, last_ping_at, last_ping_ok, FALSE FROM
    (SELECT monitor_id, org_id, last_ping_at, last_ping_ok, ROW_NUMBER() OVER
        (PARTITION BY monitor_id ORDER BY last_ping_at DESC, seq DESC) AS newest
     FROM main.ping_journal) j
WHERE newest = 1 AND EXISTS (SELECT 1 FROM monitors m WHERE m.id = j.monitor_id)
ON CONFLICT (monitor_id) DO UPDATE SET last_ping_at = excluded.last_ping_at,
    last_ping_ok = excluded.last_ping_ok, missed = FALSE
WHERE excluded.last_ping_at >= heartbeats.last_ping_at;
DROP TABLE main.ping_journal;
-- The last journal seq folded, per journal file (its journal_identity):
-- the fold's mark commits with the rows it moved, so a crash between the
-- fold and the journal's delete never folds a ping twice.
CREATE TABLE ping_journal_folded (
    journal_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
