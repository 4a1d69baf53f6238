-- What an event is about (a CT finding, an audit entry), as JSON, so that
-- each payload format renders from typed facts when it is sent. NULL for
-- monitor events, whose monitor snapshot is already in `monitor`.
ALTER TABLE events ADD COLUMN subject TEXT;
