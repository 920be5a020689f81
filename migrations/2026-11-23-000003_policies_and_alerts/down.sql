DROP TABLE sign_in_history;
DROP INDEX login_approvals_by_user_and_time;
ALTER TABLE login_approvals DROP COLUMN country;
ALTER TABLE sessions
    DROP COLUMN country,
    DROP COLUMN ended_by,
    DROP CONSTRAINT sessions_end_reason_known,
    ADD CONSTRAINT sessions_end_reason_known CHECK (
        end_reason IN ('logout', 'revoked', 'idle_timeout', 'lifetime_exceeded', 'password_changed')
    );
