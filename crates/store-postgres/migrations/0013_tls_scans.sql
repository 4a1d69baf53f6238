-- TLS configuration grades per endpoint (`host:port`), shared by every
-- monitor and organization that checks it. `claimed_at` is claimed with
-- compare-and-swap before a scan, so an endpoint is scanned at most once a
-- day even with several nodes on one database; a different served
-- certificate (`cert_sha256`) allows a new claim at once.
CREATE TABLE tls_scans (
    endpoint TEXT PRIMARY KEY,
    claimed_at BIGINT NOT NULL,
    graded_at BIGINT,
    cert_sha256 TEXT,
    grade TEXT,
    grade_ignoring_trust TEXT,
    report TEXT,
    error TEXT
);
