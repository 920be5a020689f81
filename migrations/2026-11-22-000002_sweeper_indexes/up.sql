-- The sweeper's queries must not scan the whole sessions table every 30 seconds.
-- Open sessions past their absolute lifetime (idle ones use sessions_open_by_last_seen).
CREATE INDEX sessions_open_by_expiry ON sessions (expires_at) WHERE ended_at IS NULL;
-- Ended sessions past the history retention.
CREATE INDEX sessions_ended_at ON sessions (ended_at) WHERE ended_at IS NOT NULL;
-- Activity past the history retention.
CREATE INDEX activity_created_at ON activity (created_at);
