-- When a channel's current run of failed attempts began (NULL while it
-- succeeds); a channel failing for too long is disabled.
ALTER TABLE notification_channels ADD COLUMN failing_since BIGINT;
