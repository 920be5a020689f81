DROP INDEX activity_created_at;
DROP INDEX sessions_ended_at;
DROP INDEX sessions_open_by_expiry;
