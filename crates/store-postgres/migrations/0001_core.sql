-- Core tables. Timestamps are Unix milliseconds; JSON is stored as TEXT.
CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    plan TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    read_only BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_org ON api_keys(org_id, id);

CREATE TABLE environments (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE monitors (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    external_id TEXT,
    environment_id TEXT,
    spec TEXT NOT NULL,
    heartbeat_token TEXT UNIQUE,
    last_status TEXT NOT NULL,
    ssl_not_after BIGINT,
    domain_expiry BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, external_id)
);
CREATE INDEX monitors_org ON monitors(org_id, id);
CREATE INDEX monitors_environment ON monitors(org_id, environment_id);

CREATE TABLE status_pages (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT,
    enabled BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX status_pages_org ON status_pages(org_id, id);

CREATE TABLE status_page_monitors (
    page_id TEXT NOT NULL REFERENCES status_pages(id) ON DELETE CASCADE,
    monitor_id TEXT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    sort_order BIGINT NOT NULL,
    public_label TEXT NOT NULL,
    show_target BOOLEAN NOT NULL,
    show_cert_health BOOLEAN NOT NULL,
    PRIMARY KEY (page_id, monitor_id)
);
CREATE INDEX status_page_monitors_monitor ON status_page_monitors(monitor_id);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_events_org ON audit_events(org_id, id);
