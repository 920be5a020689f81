-- Who confirms a login request: a device already signed in types the code the new device
-- shows ('device'), or, when no device can, the new device types a code mailed to the
-- account's confirmed address ('email').
ALTER TABLE login_approvals
    ADD COLUMN channel TEXT NOT NULL DEFAULT 'device',
    ADD CONSTRAINT login_approvals_channel_known CHECK (channel IN ('device', 'email'));

-- Device cookies carry the generation they were issued in; "this wasn't me" and a password
-- reset start a new one, so that no browser is recognised on the old one's word; the codes
-- mailed before it no longer count against the owner's daily allowance.
ALTER TABLE users
    ADD COLUMN device_generation INT NOT NULL DEFAULT 0,
    ADD COLUMN devices_forgotten_at TIMESTAMPTZ;

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
