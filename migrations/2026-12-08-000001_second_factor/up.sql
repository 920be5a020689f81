-- Sudo mode: when and how each session last proved its user (sign-in, or re-authentication).
ALTER TABLE sessions
    ADD COLUMN proved_at TIMESTAMPTZ,
    ADD COLUMN proof_method TEXT;
-- Sessions from before were proved by their password when they started.
UPDATE sessions SET proved_at = created_at, proof_method = 'password';
ALTER TABLE sessions
    ALTER COLUMN proved_at SET NOT NULL,
    ALTER COLUMN proof_method SET NOT NULL,
    ADD CONSTRAINT sessions_proof_method_known CHECK (
        proof_method IN ('password', 'passkey', 'totp', 'email_code', 'recovery_code')
    );

-- How a request waiting for approval was proved (its session, once approved, says so).
ALTER TABLE login_approvals
    ADD COLUMN proof_method TEXT NOT NULL DEFAULT 'password'
        CONSTRAINT login_approvals_proof_method_known CHECK (
            proof_method IN ('password', 'passkey', 'totp', 'email_code', 'recovery_code')
        );

-- The second factor is on from when the authenticator app's first code was confirmed.
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMPTZ;

-- The account's authenticator app (RFC 6238): set up, and on once `users.totp_enabled_at`
-- is set.
CREATE TABLE totp_factors (
    user_id UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- 20 random bytes: the key the app computes codes from (it must be readable to check them).
    secret BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    -- The time step of the last code accepted: no code of it or before is accepted again.
    last_used_step BIGINT
);

-- Single-use recovery codes, stored as keyed hashes.
CREATE TABLE recovery_codes (
    id BIGSERIAL PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- A correct password waiting for the second factor: single use, 5 minutes, any instance
-- finishes it. Holds what the sign-in would start a session with.
CREATE TABLE second_factor_challenges (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device TEXT NOT NULL,
    os TEXT NOT NULL,
    browser TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    ip TEXT NOT NULL,
    country TEXT,
    device_id TEXT,
    keep_signed_in BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE INDEX second_factor_challenges_user ON second_factor_challenges (user_id);
CREATE INDEX second_factor_challenges_expiry ON second_factor_challenges (expires_at);
