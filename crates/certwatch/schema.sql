-- certwatch's tables, for `certsentry certwatch` (the drop-in replacement
-- for the certwatch service). Apply once before the first start:
--
--     certsentry certwatch --print-schema | psql "$POSTGRES_DSN"
--
-- Every statement is idempotent, so applying it again, or over a database an
-- earlier certwatch created, only adds what is missing.

-- The load balancers' inventory: certificates we issued ourselves. Upstream
-- systems own it; certwatch only reads it. A certificate is known when any
-- hash column holds its SHA-1 fingerprint, its SHA-256, or its tbs_sha256
-- (Cert Spotter's issuance hash, which a precertificate shares with its
-- certificate). Hex in either case, with or without colons.
CREATE TABLE IF NOT EXISTS public.certs (
    fingerprint_sha1   text PRIMARY KEY,
    fingerprint_sha256 text,
    tbs_sha256         text,
    fqdn               text,
    not_after          timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS certs_fingerprint_sha256 ON public.certs (fingerprint_sha256);
CREATE INDEX IF NOT EXISTS certs_tbs_sha256 ON public.certs (tbs_sha256);

-- The watched names. Upstream owns this too (often a view); this only
-- creates a stand-in when nothing of that name exists.
CREATE TABLE IF NOT EXISTS public.intent_current (
    fqdn text PRIMARY KEY
);

-- The only table certwatch writes: one row per matched issuance, holding the
-- webhook body as sent.
CREATE TABLE IF NOT EXISTS public.alerts (
    id               bigserial PRIMARY KEY,
    fingerprint_sha1 text NOT NULL,
    severity         text NOT NULL,
    matched_entries  jsonb NOT NULL,
    matched_sans     jsonb NOT NULL,
    all_sans         jsonb NOT NULL,
    issuer_o         text,
    issuer_cn        text,
    not_before       timestamptz,
    not_after        timestamptz,
    lifetime_days    double precision,
    source_log       text,
    cert_link        text,
    serial           text,
    update_type      text,
    seen_at          timestamptz,
    payload          jsonb NOT NULL,
    delivered        boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- CertSentry's additions: the issuance hash that makes a precert and its
-- certificate one alert (across restarts too), when the grace window ended,
-- and the delivery bookkeeping that lets failed rows be swept and retried.
ALTER TABLE public.alerts ADD COLUMN IF NOT EXISTS tbs_sha256 text;
ALTER TABLE public.alerts ADD COLUMN IF NOT EXISTS cert_sha256 text;
ALTER TABLE public.alerts ADD COLUMN IF NOT EXISTS decided_at timestamptz;
ALTER TABLE public.alerts ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0;
ALTER TABLE public.alerts ADD COLUMN IF NOT EXISTS last_error text;
ALTER TABLE public.alerts ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz;
ALTER TABLE public.alerts ADD COLUMN IF NOT EXISTS delivered_at timestamptz;
-- Rows from before these columns count as decided.
UPDATE public.alerts SET decided_at = created_at WHERE decided_at IS NULL AND tbs_sha256 IS NULL;

CREATE UNIQUE INDEX IF NOT EXISTS alerts_tbs_sha256 ON public.alerts (tbs_sha256);
CREATE INDEX IF NOT EXISTS alerts_created_at ON public.alerts (created_at);
CREATE INDEX IF NOT EXISTS alerts_undecided ON public.alerts (created_at) WHERE decided_at IS NULL;
CREATE INDEX IF NOT EXISTS alerts_undelivered ON public.alerts (next_attempt_at)
    WHERE NOT delivered AND next_attempt_at IS NOT NULL;
