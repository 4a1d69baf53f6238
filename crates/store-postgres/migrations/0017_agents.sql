-- Probe agents: their tokens (SHA-256 only), the region jobs they hold
-- under leases, and the idempotency keys of the results they upload.
CREATE TABLE agent_tokens (
    id TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT,
    revoked_at BIGINT
);

-- One row per monitor and region whose uptime (or TCP) check an agent may
-- run; kept in step by every monitor write.
CREATE TABLE check_jobs (
    monitor_id TEXT NOT NULL,
    region TEXT NOT NULL,
    org_id TEXT NOT NULL,
    lease_ms BIGINT NOT NULL,
    holder TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (monitor_id, region)
);
CREATE INDEX check_jobs_claim ON check_jobs(region, lease_until);
CREATE INDEX check_jobs_holder ON check_jobs(holder, region);

-- The server nodes sharing the database, and when each was last alive.
CREATE TABLE server_nodes (
    id TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);

-- One holder at a time per name (`ct`: the node that tails CT logs), by
-- lease; the epoch grows with every change of holder (the fencing token).
CREATE TABLE leaderships (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    lease_until BIGINT NOT NULL
);

CREATE TABLE agent_result_keys (
    idempotency_key TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL
);
CREATE INDEX agent_result_keys_age ON agent_result_keys(received_at);

-- The jobs of the monitors that exist already.
INSERT INTO check_jobs (monitor_id, region, org_id, lease_ms, holder, lease_until)
SELECT m.id, r.region, m.org_id,
       60000,
       NULL, 0
FROM monitors m, jsonb_array_elements_text(m.spec::jsonb -> 'regions') AS r(region)
WHERE m.enabled
  AND (m.spec::jsonb ->> 'target') IS NOT NULL
  AND ((m.kind = 'standard' AND (m.spec::jsonb ->> 'checkUptime')::boolean)
       OR (m.kind = 'tcp' AND (m.spec::jsonb ->> 'tcpPort') IS NOT NULL));

-- The server nodes' part of every monitor they run on a schedule.
INSERT INTO check_jobs (monitor_id, region, org_id, lease_ms, holder, lease_until)
SELECT m.id, '*server', m.org_id, 120000, NULL, 0
FROM monitors m
WHERE m.enabled AND m.kind <> 'heartbeat'
  AND (m.spec::jsonb ->> 'uptimeIntervalSeconds') IS NOT NULL;
