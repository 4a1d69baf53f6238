-- People: users (global), their roles in organizations, one-time links
-- (setup, invitations, set and reset password; stored as SHA-256 only),
-- and dashboard sessions (stored by the SHA-256 of their id).

ALTER TABLE audit_events ADD COLUMN actor_email TEXT;
ALTER TABLE orgs ADD COLUMN require_two_factor BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    -- TOTP: the base32 secret, and the SHA-256 of each unused recovery
    -- code as a JSON array; both NULL until two-factor sign-in is on.
    totp_secret TEXT,
    recovery_codes TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE user_links (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    org_id TEXT REFERENCES orgs(id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    email TEXT,
    role TEXT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX user_links_org ON user_links(org_id, purpose, id);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);
