ALTER TABLE sessions
    DROP CONSTRAINT sessions_end_reason_known,
    ADD CONSTRAINT sessions_end_reason_known CHECK (
        end_reason IN ('logout', 'revoked', 'idle_timeout', 'lifetime_exceeded',
                       'password_changed', 'replaced', 'not_completed', 'account_secured',
                       'replaced_by_same_browser', 'key_changed')
    );
DELETE FROM email_links WHERE purpose = 'change_email';
ALTER TABLE email_links
    DROP CONSTRAINT email_links_new_email_for_change,
    DROP CONSTRAINT email_links_purpose_check,
    ADD CONSTRAINT email_links_purpose_check
        CHECK (purpose IN ('verify_email', 'reset_password', 'secure_account')),
    DROP COLUMN new_email;
DELETE FROM mail_outbox WHERE user_id IS NULL;
ALTER TABLE mail_outbox ALTER COLUMN user_id SET NOT NULL;
