-- What a status page tells its visitors beyond its monitors' states:
-- incidents with their timeline of updates, and maintenance windows.

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    page_id TEXT NOT NULL REFERENCES status_pages(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    state TEXT NOT NULL,
    -- The monitor whose confirmed outage opened it (kept as history when
    -- the monitor is deleted); NULL when an operator opened it.
    monitor_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX incidents_page ON incidents(page_id, id);
CREATE INDEX incidents_open_monitor ON incidents(monitor_id, state);

CREATE TABLE incident_updates (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates(incident_id, id);

CREATE TABLE maintenance_windows (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    page_id TEXT NOT NULL REFERENCES status_pages(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    message TEXT,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX maintenance_windows_page ON maintenance_windows(page_id, id);

CREATE TABLE maintenance_monitors (
    maintenance_id TEXT NOT NULL REFERENCES maintenance_windows(id) ON DELETE CASCADE,
    monitor_id TEXT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    sort_order BIGINT NOT NULL,
    PRIMARY KEY (maintenance_id, monitor_id)
);
CREATE INDEX maintenance_monitors_monitor ON maintenance_monitors(monitor_id);
