-- The ping journal, a database file of its own beside the main one (see
-- the store's ping_journal module): healthy heartbeat pings are appended
-- here by the journal's own writer and folded into the main database's
-- check_results and heartbeats in bulk by the main writer, so an append
-- never waits for a fold. The columns are check_results' plus the ping's.
--
-- AUTOINCREMENT: the main database remembers the last seq it folded from
-- this journal, and a journal emptied by the delete after a fold must not
-- hand out those numbers again.
CREATE TABLE ping_journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
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
-- Which journal file this is. The main database keeps its fold mark per
-- journal id, so a journal file made anew (the old one deleted by hand)
-- starts from nothing folded instead of being skipped up to the old mark.
CREATE TABLE journal_identity (
    id TEXT NOT NULL
);
INSERT INTO journal_identity (id) VALUES (lower(hex(randomblob(16))));
