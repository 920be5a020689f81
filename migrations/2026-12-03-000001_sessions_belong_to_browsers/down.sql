UPDATE sessions SET end_reason = 'replaced' WHERE end_reason = 'replaced_by_same_browser';
UPDATE sessions SET end_reason = 'revoked' WHERE end_reason = 'key_changed';
ALTER TABLE sessions
    DROP CONSTRAINT sessions_end_reason_known,
    ADD CONSTRAINT sessions_end_reason_known CHECK (
        end_reason IN ('logout', 'revoked', 'idle_timeout', 'lifetime_exceeded',
                       'password_changed', 'replaced', 'not_completed', 'account_secured')
    );
DROP INDEX sessions_open_by_device;
ALTER TABLE login_approvals DROP COLUMN device_id;
ALTER TABLE sessions DROP COLUMN device_id;
