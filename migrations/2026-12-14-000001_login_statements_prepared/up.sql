-- Three statements every login runs, as functions: the app calls them through diesel's query
-- builder, which keeps the call prepared per connection, and PL/pgSQL keeps the plans of
-- their bodies. Written as raw SQL (a data-modifying CTE, `unnest ... WITH ORDINALITY`),
-- diesel sent two of them unprepared, so each was parsed and planned anew, with an extra
-- round trip; PostgreSQL planned the third anew each time (below).
--
-- `plan_cache_mode = force_generic_plan`: left to choose, PostgreSQL kept planning these for
-- their arrays' actual lengths at every call (scripts/capacity's plannings per login), for
-- the same plan: the user's rows by index.

-- Records what a sign-in came from (one value per kind: device, network, country); for each
-- kind, in the order given, whether the value is new to an account that had already seen
-- something of that kind (the first sign-in ever is not "new").
CREATE FUNCTION record_sign_in(
    p_user_id UUID, p_kinds TEXT[], p_values TEXT[], p_now TIMESTAMPTZ
) RETURNS BOOLEAN[]
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    news BOOLEAN[];
BEGIN
    -- The CTEs see the table as it was before the insert: "before" is the history as it was.
    WITH input AS (
             SELECT * FROM unnest(p_kinds, p_values) WITH ORDINALITY AS input (kind, value, n)),
         before AS (
             SELECT DISTINCT h.kind FROM sign_in_history h
              WHERE h.user_id = p_user_id AND h.kind = ANY (p_kinds)),
         added AS (
             INSERT INTO sign_in_history (user_id, kind, value, first_seen_at)
             SELECT p_user_id, input.kind, input.value, p_now FROM input
             ON CONFLICT DO NOTHING RETURNING sign_in_history.kind)
    SELECT array_agg(EXISTS (SELECT 1 FROM before WHERE before.kind = input.kind)
                     AND EXISTS (SELECT 1 FROM added WHERE added.kind = input.kind)
                     ORDER BY input.n)
      INTO news
      FROM input;
    RETURN coalesce(news, '{}');
END;
$$;

-- Publishes the payloads on the channel in their order (delivered when the transaction
-- commits); how many.
CREATE FUNCTION publish_events(p_channel TEXT, p_payloads TEXT[]) RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    payload TEXT;
BEGIN
    FOREACH payload IN ARRAY p_payloads LOOP
        PERFORM pg_notify(p_channel, payload);
    END LOOP;
    RETURN coalesce(array_length(p_payloads, 1), 0);
END;
$$;

-- Gives a login's throttle slots back and, for a right password, clears the account's
-- failures (`p_forget_key`, or NULL); how many rows went.
CREATE FUNCTION release_login_slots(p_slot_ids BIGINT[], p_forget_key TEXT) RETURNS INTEGER
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    released INTEGER;
BEGIN
    DELETE FROM login_attempts WHERE id = ANY (p_slot_ids) OR key = p_forget_key;
    GET DIAGNOSTICS released = ROW_COUNT;
    RETURN released;
END;
$$;
