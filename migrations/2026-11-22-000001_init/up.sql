-- Users. Emails are stored normalised (trimmed, lower-case) and unique.
CREATE TABLE users (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Server-side sessions. The cookie carries a random token; only its SHA-256 is kept here.
-- A session is active while ended_at IS NULL, last_seen_at is within the idle timeout
-- and expires_at (the absolute lifetime) is in the future.
CREATE TABLE sessions (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL UNIQUE,
    device TEXT NOT NULL,
    os TEXT NOT NULL,
    browser TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    ip TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ,
    end_reason TEXT
);
CREATE INDEX sessions_active_by_user ON sessions (user_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_history_by_user ON sessions (user_id, created_at DESC, id DESC);
CREATE INDEX sessions_open_by_last_seen ON sessions (last_seen_at) WHERE ended_at IS NULL;

-- A login from a second device waiting for the code to be typed on a logged-in device.
-- Only keyed hashes of the code and of the pending token are stored.
CREATE TABLE login_approvals (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    pending_token_hash BYTEA NOT NULL,
    device TEXT NOT NULL,
    os TEXT NOT NULL,
    browser TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    ip TEXT NOT NULL,
    status TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    decided_at TIMESTAMPTZ,
    decided_by_session_id UUID REFERENCES sessions (id) ON DELETE SET NULL,
    session_id UUID REFERENCES sessions (id) ON DELETE SET NULL
);
CREATE INDEX login_approvals_pending_by_user ON login_approvals (user_id) WHERE status = 'pending';

-- Everything that happened to an account, newest first by id.
CREATE TABLE activity (
    id BIGSERIAL PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    session_id UUID,
    ip TEXT,
    device TEXT,
    detail TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX activity_by_user ON activity (user_id, id DESC);
