-- Who confirms a login request: a device already signed in types the code the new device
-- shows ('device'), or, when no device can, the new device types a code mailed to the
-- account's confirmed address ('email').
ALTER TABLE login_approvals
    ADD COLUMN channel TEXT NOT NULL DEFAULT 'device',
    ADD CONSTRAINT login_approvals_channel_known CHECK (channel IN ('device', 'email'));

-- "This wasn't me" links in security mail.
ALTER TABLE email_links
    DROP CONSTRAINT email_links_purpose_check,
    ADD CONSTRAINT email_links_purpose_check
        CHECK (purpose IN ('verify_email', 'reset_password', 'secure_account'));

-- Sessions ended through such a link.
ALTER TABLE sessions
    DROP CONSTRAINT sessions_end_reason_known,
    ADD CONSTRAINT sessions_end_reason_known CHECK (
        end_reason IN ('logout', 'revoked', 'idle_timeout', 'lifetime_exceeded',
                       'password_changed', 'replaced', 'not_completed', 'account_secured')
    );
