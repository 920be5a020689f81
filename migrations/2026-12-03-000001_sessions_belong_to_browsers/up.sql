-- The browser a session or a sign-in request belongs to: the id its device cookie carries.
-- A browser that signs in again while its own session is still active takes that
-- session's place instead of counting as another device. NULL for rows from before.
ALTER TABLE sessions ADD COLUMN device_id TEXT;
ALTER TABLE login_approvals ADD COLUMN device_id TEXT;
CREATE INDEX sessions_open_by_device ON sessions (user_id, device_id)
    WHERE ended_at IS NULL AND device_id IS NOT NULL;

ALTER TABLE sessions
    DROP CONSTRAINT sessions_end_reason_known,
    ADD CONSTRAINT sessions_end_reason_known CHECK (
        end_reason IN ('logout', 'revoked', 'idle_timeout', 'lifetime_exceeded',
                       'password_changed', 'replaced', 'not_completed', 'account_secured',
                       'replaced_by_same_browser', 'key_changed')
    );
