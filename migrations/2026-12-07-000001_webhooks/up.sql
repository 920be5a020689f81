-- Endpoints that hear of what happens to sessions (`api admin webhook add`).
CREATE TABLE webhook_endpoints (
    id UUID PRIMARY KEY,
    url TEXT NOT NULL,
    -- The event types it subscribed to (`session.created`, …).
    events TEXT[] NOT NULL,
    -- `whsec_<base64>`: kept as is, since every delivery is signed with it (see SECURITY.md).
    secret TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    -- Set when it failed for too long; nothing more is sent to it.
    disabled_at TIMESTAMPTZ,
    -- The first failure since its last success.
    failing_since TIMESTAMPTZ,
    consecutive_failures INT NOT NULL DEFAULT 0
);

-- One event for one endpoint, written in the transaction of the change (as mail is); any
-- instance's worker delivers it.
CREATE TABLE webhook_deliveries (
    -- The `webhook-id` (`msg_…`): the same on every try, so receivers can drop repeats.
    id TEXT PRIMARY KEY,
    endpoint_id UUID NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    payload JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    attempts INT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_until TIMESTAMPTZ,
    delivered_at TIMESTAMPTZ,
    last_status INT,
    last_error TEXT,
    failed_at TIMESTAMPTZ
);

-- The worker's claim: due rows, oldest first.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
-- `api admin webhook deliveries ID`, newest first, and the foreign key.
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
-- The sweeper's purge of finished deliveries.
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (COALESCE(delivered_at, failed_at))
    WHERE delivered_at IS NOT NULL OR failed_at IS NOT NULL;
