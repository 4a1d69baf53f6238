-- Certificate Transparency: the known-certificate inventory, the findings
-- (one per organization and issuance), and each log's read position.

-- Served certificates also answer for their precertificates.
ALTER TABLE served_certificates ADD COLUMN tbs_sha256 TEXT;
CREATE INDEX served_certificates_tbs ON served_certificates(org_id, tbs_sha256);

-- Certificates an organization vouches for (POST /api/v1/ct/known-certificates).
CREATE TABLE known_certificates (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    sha256 TEXT,
    tbs_sha256 TEXT,
    note TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX known_certificates_sha256 ON known_certificates(org_id, sha256);
CREATE INDEX known_certificates_tbs ON known_certificates(org_id, tbs_sha256);

-- Matched issuances. The unique index is the persistent dedupe: a precert
-- and its certificate share tbs_sha256, so they make one finding.
CREATE TABLE ct_certificates (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    monitor_id TEXT,
    tbs_sha256 TEXT NOT NULL,
    cert_sha256 TEXT NOT NULL,
    state TEXT NOT NULL,
    found_at BIGINT NOT NULL,
    decided_at BIGINT,
    finding TEXT NOT NULL
);
CREATE UNIQUE INDEX ct_certificates_issuance ON ct_certificates(org_id, tbs_sha256);
CREATE INDEX ct_certificates_pending ON ct_certificates(state, found_at);
CREATE INDEX ct_certificates_monitor ON ct_certificates(org_id, monitor_id);

-- Where each tailed log stands: the next index and the Merkle state.
CREATE TABLE ct_log_states (
    log_id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    state TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
