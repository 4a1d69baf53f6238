-- The latest certificate facts per monitor (GET /api/v1/certificates).
CREATE TABLE monitor_certificates (
    monitor_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    valid BOOLEAN NOT NULL,
    error TEXT,
    issuer TEXT,
    not_after BIGINT,
    sha256 TEXT,
    checked_at BIGINT NOT NULL
);
CREATE INDEX monitor_certificates_org ON monitor_certificates(org_id);

-- Every certificate fingerprint ever seen served, per organization: the
-- "known certificates" inventory Certificate Transparency matching uses.
CREATE TABLE served_certificates (
    org_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    spki_sha256 TEXT NOT NULL,
    not_after BIGINT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, sha256)
);
