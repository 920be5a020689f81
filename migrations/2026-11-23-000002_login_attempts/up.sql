-- Login throttling shared by every API instance and kept across restarts.
--
-- A login (or a password check) takes one slot per key before any hashing: the account
-- ('email:<normalised email>', whether or not the account exists) and the client address
-- ('ip:<IPv4>' or 'ip:<IPv6 /64>'). A wrong password keeps its slots as failures; a right
-- one gives them back (and clears the account's failures). While a key holds as many slots
-- as its limit within the window, no new slot is given: 429 until the oldest leaves it.
CREATE TABLE login_attempts (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_attempts_by_key ON login_attempts (key, at);
CREATE INDEX login_attempts_by_time ON login_attempts (at);

-- Takes one slot for each key (keys sorted, so that concurrent callers lock in the same
-- order), atomically: with an advisory lock per key for the rest of the transaction,
-- parallel attempts are counted one after another and can never overrun a limit. Returns
-- the slot ids, or no ids and the seconds until a slot frees up.
CREATE FUNCTION take_login_slots(
    p_keys TEXT[], p_limits INTEGER[], p_now TIMESTAMPTZ, p_window INTERVAL
) RETURNS TABLE (slot_ids BIGINT[], retry_after_secs DOUBLE PRECISION)
LANGUAGE plpgsql AS $$
DECLARE
    i INTEGER;
    taken INTEGER;
    oldest TIMESTAMPTZ;
    wait DOUBLE PRECISION := 0;
    ids BIGINT[] := '{}';
    new_id BIGINT;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        PERFORM pg_advisory_xact_lock(7215003, hashtext(p_keys[i]));
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        SELECT count(*), min(at) INTO taken, oldest
          FROM login_attempts
         WHERE key = p_keys[i] AND at > p_now - p_window;
        IF taken >= p_limits[i] THEN
            wait := greatest(wait, extract(epoch FROM (oldest + p_window - p_now)));
        END IF;
    END LOOP;
    IF wait > 0 THEN
        RETURN QUERY SELECT NULL::BIGINT[], greatest(wait, 1);
        RETURN;
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        INSERT INTO login_attempts (key, at) VALUES (p_keys[i], p_now) RETURNING id INTO new_id;
        ids := ids || new_id;
    END LOOP;
    RETURN QUERY SELECT ids, 0::DOUBLE PRECISION;
END;
$$;
