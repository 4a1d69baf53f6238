-- DMARC: domains with their hashed reporting-address tokens, aggregate
-- reports (their identity is unique per organization, so a report received
-- twice is stored once), the sources seen per domain, refused imports,
-- and TLS reports (RFC 8460), which arrive at the same addresses.
CREATE TABLE dmarc_domains (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    failure_rate_threshold_pct BIGINT NOT NULL,
    last_failure_rate_alert_at BIGINT,
    token_hash TEXT NOT NULL,
    previous_token_hash TEXT,
    previous_token_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX dmarc_domains_org_domain ON dmarc_domains(org_id, domain);
CREATE UNIQUE INDEX dmarc_domains_token ON dmarc_domains(token_hash);
CREATE INDEX dmarc_domains_previous_token ON dmarc_domains(previous_token_hash);

CREATE TABLE dmarc_reports (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    domain_id TEXT NOT NULL,
    reporter_org TEXT NOT NULL,
    external_id TEXT NOT NULL,
    policy_domain TEXT NOT NULL,
    begin_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    policy_published TEXT NOT NULL,
    message_count BIGINT NOT NULL,
    fail_count BIGINT NOT NULL,
    rows_skipped BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX dmarc_reports_identity
    ON dmarc_reports(org_id, reporter_org, external_id, policy_domain, begin_at, end_at);
CREATE INDEX dmarc_reports_domain ON dmarc_reports(domain_id, id);
CREATE INDEX dmarc_reports_org_end ON dmarc_reports(org_id, end_at);

CREATE TABLE dmarc_sources (
    domain_id TEXT NOT NULL,
    ip TEXT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    pass_count BIGINT NOT NULL,
    fail_count BIGINT NOT NULL,
    PRIMARY KEY (domain_id, ip)
);
CREATE INDEX dmarc_sources_recent ON dmarc_sources(domain_id, last_seen_at);
CREATE INDEX dmarc_sources_ip ON dmarc_sources(ip);

-- Reverse DNS names of source IPs, looked up once per IP and kept (a
-- missing name too, as NULL) until `checked_at` is a week old.
CREATE TABLE ptr_names (
    ip TEXT PRIMARY KEY,
    name TEXT,
    checked_at BIGINT NOT NULL
);

CREATE TABLE dmarc_imports (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    domain_id TEXT NOT NULL,
    via TEXT NOT NULL,
    reason TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX dmarc_imports_org ON dmarc_imports(org_id, id);

CREATE TABLE tls_reports (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    domain_id TEXT NOT NULL,
    organization TEXT NOT NULL,
    report_id TEXT NOT NULL,
    begin_text TEXT NOT NULL,
    end_text TEXT NOT NULL,
    successful_sessions BIGINT NOT NULL,
    failed_sessions BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX tls_reports_identity ON tls_reports(org_id, organization, report_id);
