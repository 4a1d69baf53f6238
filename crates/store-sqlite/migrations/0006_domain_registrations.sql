-- Registration expiry per registrable domain, shared by every monitor and
-- organization watching it. `checked_at` is claimed with compare-and-swap
-- before a lookup, so a domain is asked at most once per 12 hours even with
-- several nodes on one database.
CREATE TABLE domain_registrations (
    domain TEXT PRIMARY KEY,
    checked_at BIGINT NOT NULL,
    expires_at BIGINT,
    source TEXT,
    server TEXT,
    error TEXT
);
