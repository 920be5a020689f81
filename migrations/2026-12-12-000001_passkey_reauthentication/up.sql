-- Sudo mode with a passkey (issue 18): a signed-in session proves its user again with one of
-- the account's passkeys. Such a ceremony belongs to its user, like a registration; only a
-- discoverable sign-in belongs to nobody yet.
ALTER TABLE passkey_challenges
    DROP CONSTRAINT passkey_challenges_purpose_check,
    DROP CONSTRAINT passkey_challenges_check,
    ADD CONSTRAINT passkey_challenges_purpose_check
        CHECK (purpose IN ('register', 'sign_in', 'reauthenticate')),
    ADD CONSTRAINT passkey_challenges_check CHECK ((purpose = 'sign_in') = (user_id IS NULL));
