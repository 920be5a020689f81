-- Limit policies: a session can be replaced by a newer one (and says by which); an approved
-- request that is never completed ends its reserved session.
ALTER TABLE sessions
    DROP CONSTRAINT sessions_end_reason_known,
    ADD CONSTRAINT sessions_end_reason_known CHECK (
        end_reason IN ('logout', 'revoked', 'idle_timeout', 'lifetime_exceeded',
                       'password_changed', 'replaced', 'not_completed')
    ),
    ADD COLUMN ended_by UUID REFERENCES sessions (id) ON DELETE SET NULL,
    -- Where the device was, by GeoIP, when it signed in (ISO 3166 code; NULL when unknown).
    ADD COLUMN country TEXT;

ALTER TABLE login_approvals ADD COLUMN country TEXT;
-- Requests per hour and the cool-down after a denial are counted per account.
CREATE INDEX login_approvals_by_user_and_time ON login_approvals (user_id, created_at);

-- What an account has signed in from before: devices (browser and OS, without versions),
-- networks (IPv4 /24, IPv6 /48) and countries. A sign-in from something new raises an alert.
CREATE TABLE sign_in_history (
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('device', 'network', 'country')),
    value TEXT NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, kind, value)
);
