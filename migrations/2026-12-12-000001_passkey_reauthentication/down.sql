DELETE FROM passkey_challenges WHERE purpose = 'reauthenticate';
ALTER TABLE passkey_challenges
    DROP CONSTRAINT passkey_challenges_purpose_check,
    DROP CONSTRAINT passkey_challenges_check,
    ADD CONSTRAINT passkey_challenges_purpose_check CHECK (purpose IN ('register', 'sign_in')),
    ADD CONSTRAINT passkey_challenges_check CHECK ((purpose = 'register') = (user_id IS NOT NULL));
