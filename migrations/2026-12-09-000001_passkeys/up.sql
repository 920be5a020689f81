-- Passkeys (WebAuthn credentials, issue 18). `passkey` is webauthn-rs' serialized `Passkey`
-- (public key, counter, backup state); `credential_id` is kept apart, unique across every
-- account, for the discoverable sign-in's one indexed lookup (the browser names the
-- credential, not the account).
CREATE TABLE passkeys (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    credential_id BYTEA NOT NULL UNIQUE,
    passkey JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX passkeys_user_id ON passkeys (user_id, created_at);

-- Ceremonies begun and not yet finished: the webauthn-rs state of each, single-use (taken
-- with DELETE … RETURNING), for 5 minutes. In the database, not in memory: any instance may
-- finish what another began. A registration belongs to its user; a sign-in to nobody yet.
CREATE TABLE passkey_challenges (
    id UUID PRIMARY KEY,
    purpose TEXT NOT NULL CHECK (purpose IN ('register', 'sign_in')),
    user_id UUID REFERENCES users (id) ON DELETE CASCADE,
    state JSONB NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    CHECK ((purpose = 'register') = (user_id IS NOT NULL))
);
CREATE INDEX passkey_challenges_expires_at ON passkey_challenges (expires_at);
CREATE INDEX passkey_challenges_user_id ON passkey_challenges (user_id);
