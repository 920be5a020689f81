-- Only a verified address is used for recovery.
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMPTZ;

-- One-time links sent by mail (address verification, password reset). Only the token's
-- SHA-256 is stored; `email` is the address it was sent to, so a link dies with a change
-- of address.
CREATE TABLE email_links (
    token_hash BYTEA PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    email TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE INDEX email_links_user ON email_links (user_id, purpose, created_at);
CREATE INDEX email_links_expires ON email_links (expires_at);
