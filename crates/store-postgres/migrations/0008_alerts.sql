-- Alerting: channels, the per-monitor alert state every event is guarded
-- by (compare-and-swap on `value`), events, and the delivery outbox.
CREATE TABLE notification_channels (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    spec TEXT NOT NULL,
    secret TEXT,
    previous_secret TEXT,
    previous_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX notification_channels_org ON notification_channels(org_id, id);

CREATE TABLE alert_state (
    monitor_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (monitor_id, key)
);

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    monitor_id TEXT,
    environment_id TEXT,
    event_type TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    monitor TEXT,
    details TEXT NOT NULL,
    is_test BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_org ON events(org_id, id);

-- The outbox: written in the event's transaction, sent by the worker.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
CREATE INDEX deliveries_org ON deliveries(org_id, id);

CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status_code INTEGER,
    duration_ms BIGINT NOT NULL,
    response_body TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
