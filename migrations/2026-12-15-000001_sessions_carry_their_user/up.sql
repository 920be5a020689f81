-- Each session carries a copy of the fields of its user that the session check returns, so
-- that the check, made on every authenticated request, reads one row per token instead of
-- two: the join with `users` (its index and its row) was about a third of PostgreSQL's work
-- per check (BENCHMARKS.md, "The session check reads one row"). Triggers keep the copy, so
-- no code path can forget it:
-- - a new session copies its user's fields;
-- - a change to any of them is copied to the user's open sessions in the same transaction,
--   so a check made after the change commits sees it, as it did through the join.
-- Ended sessions keep the copy they had (a check of one fails before reading its user).
-- The password hash is not copied: it is read where a password is checked.

ALTER TABLE sessions
    ADD COLUMN user_email TEXT,
    ADD COLUMN user_name TEXT,
    ADD COLUMN user_created_at TIMESTAMPTZ,
    ADD COLUMN user_updated_at TIMESTAMPTZ,
    ADD COLUMN user_email_verified_at TIMESTAMPTZ,
    ADD COLUMN user_device_generation INTEGER,
    ADD COLUMN user_devices_forgotten_at TIMESTAMPTZ,
    ADD COLUMN user_totp_enabled_at TIMESTAMPTZ;

CREATE FUNCTION sessions_copy_their_user() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    -- FOR SHARE: a change to the user that commits meanwhile either came first (this reads
    -- its result) or waits for this transaction, and then copies itself to this session.
    SELECT u.email, u.name, u.created_at, u.updated_at, u.email_verified_at,
           u.device_generation, u.devices_forgotten_at, u.totp_enabled_at
      INTO NEW.user_email, NEW.user_name, NEW.user_created_at, NEW.user_updated_at,
           NEW.user_email_verified_at, NEW.user_device_generation,
           NEW.user_devices_forgotten_at, NEW.user_totp_enabled_at
      FROM users u
     WHERE u.id = NEW.user_id
       FOR SHARE;
    IF NOT FOUND THEN
        -- What the foreign key would have said (the copy's NOT NULL would say it first).
        RAISE foreign_key_violation USING
            MESSAGE = format('user %s of a new session does not exist', NEW.user_id),
            CONSTRAINT = 'sessions_user_id_fkey', TABLE = 'sessions';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER sessions_copy_their_user BEFORE INSERT ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_copy_their_user();

-- It locks the user's open sessions while the user's row is locked: the order every transaction
-- on a user's sessions takes (the user's row first), so it adds no deadlock.
CREATE FUNCTION users_copy_to_their_sessions() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sessions
       SET user_email = NEW.email,
           user_name = NEW.name,
           user_created_at = NEW.created_at,
           user_updated_at = NEW.updated_at,
           user_email_verified_at = NEW.email_verified_at,
           user_device_generation = NEW.device_generation,
           user_devices_forgotten_at = NEW.devices_forgotten_at,
           user_totp_enabled_at = NEW.totp_enabled_at
     WHERE user_id = NEW.id AND ended_at IS NULL;
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_copy_to_their_sessions AFTER UPDATE ON users
    FOR EACH ROW
    WHEN ((OLD.email, OLD.name, OLD.created_at, OLD.updated_at, OLD.email_verified_at,
           OLD.device_generation, OLD.devices_forgotten_at, OLD.totp_enabled_at)
          IS DISTINCT FROM
          (NEW.email, NEW.name, NEW.created_at, NEW.updated_at, NEW.email_verified_at,
           NEW.device_generation, NEW.devices_forgotten_at, NEW.totp_enabled_at))
    EXECUTE FUNCTION users_copy_to_their_sessions();

-- The copy of the sessions made before this migration: the next one; NOT NULL: the one after.
