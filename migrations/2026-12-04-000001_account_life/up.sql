-- The account's whole life: changing its address, and deleting it.

-- The goodbye mail of a deleted account outlives the account: its row has no user (and its
-- recipient is erased once it is sent).
ALTER TABLE mail_outbox ALTER COLUMN user_id DROP NOT NULL;

-- A link confirming a change of address carries the address asked for; `email` stays the
-- address of the account when it was asked (the link dies if that changes meanwhile).
ALTER TABLE email_links
    ADD COLUMN new_email TEXT,
    DROP CONSTRAINT email_links_purpose_check,
    ADD CONSTRAINT email_links_purpose_check
        CHECK (purpose IN ('verify_email', 'reset_password', 'secure_account', 'change_email')),
    ADD CONSTRAINT email_links_new_email_for_change
        CHECK ((purpose = 'change_email') = (new_email IS NOT NULL));

-- Sessions ended by a change of address (the others of the account), and by its deletion
-- (the rows go with the account, but their sockets hear why first).
ALTER TABLE sessions
    DROP CONSTRAINT sessions_end_reason_known,
    ADD CONSTRAINT sessions_end_reason_known CHECK (
        end_reason IN ('logout', 'revoked', 'idle_timeout', 'lifetime_exceeded',
                       'password_changed', 'replaced', 'not_completed', 'account_secured',
                       'replaced_by_same_browser', 'key_changed', 'email_changed',
                       'account_deleted')
    );
