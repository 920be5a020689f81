-- Keys of the admin API (`api admin api-key create`). Only the key's SHA-256 is stored: the
-- key is 256 random bits, so a plain hash cannot be reversed by guessing (no salt or slow
-- hash is needed as for a password), and it stays one indexed lookup per request. A leaked
-- table cannot be replayed.
CREATE TABLE api_keys (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    key_hash BYTEA NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
