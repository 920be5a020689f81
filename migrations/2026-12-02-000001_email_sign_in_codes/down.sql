ALTER TABLE sessions
    DROP CONSTRAINT sessions_end_reason_known,
    ADD CONSTRAINT sessions_end_reason_known CHECK (
        end_reason IN ('logout', 'revoked', 'idle_timeout', 'lifetime_exceeded',
                       'password_changed', 'replaced', 'not_completed')
    );

ALTER TABLE email_links
    DROP CONSTRAINT email_links_purpose_check,
    ADD CONSTRAINT email_links_purpose_check CHECK (purpose IN ('verify_email', 'reset_password'));

ALTER TABLE users DROP COLUMN device_generation, DROP COLUMN devices_forgotten_at;

ALTER TABLE login_approvals
    DROP CONSTRAINT login_approvals_channel_known,
    DROP COLUMN channel;
