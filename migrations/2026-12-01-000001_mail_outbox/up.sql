-- Mail waiting to be sent, written in the transaction that causes it (so none is lost and
-- none is sent for a change that rolled back); any instance's worker sends it.
CREATE TABLE mail_outbox (
    id BIGSERIAL PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- What the mail is about (a security alert); rendered when sent.
    payload JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    attempts INT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ,
    failed_at TIMESTAMPTZ,
    last_error TEXT
);

-- The worker's claim: due rows, oldest first.
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;
-- The per-account de-duplication of repeated alerts, and the foreign key.
CREATE INDEX mail_outbox_user_kind ON mail_outbox (user_id, kind, created_at);
-- The sweeper's purge of delivered mail.
CREATE INDEX mail_outbox_done ON mail_outbox (COALESCE(sent_at, failed_at))
    WHERE sent_at IS NOT NULL OR failed_at IS NOT NULL;
