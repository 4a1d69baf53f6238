-- Origins allowed to show a public status page in a frame (CSP
-- `frame-ancestors`), as a JSON array of strings.
ALTER TABLE status_pages ADD COLUMN embed_origins TEXT NOT NULL DEFAULT '[]';
