-- Shard-ready keys: every primary key and unique constraint of a table that holds one
-- user's rows includes `user_id`, as a database distributed by user (Citus, co-located on
-- the user) requires of a distributed table; a foreign key between two such tables carries
-- `user_id` too, so both rows live on the same node (SCALING.md, "Towards a split by user").
--
-- Only indexes change, no table is rewritten; each table is locked while its index builds
-- (0.15 s for 120 000 sessions). The id (or token hash) still leads each key,
-- so a lookup by it alone uses the new index as it used the old one. Keys that stay global,
-- with why: `users (id)` is the user itself; `users (email)` and `passkeys (credential_id)`
-- are looked up before the user is known (at the split, each becomes a lookup table from
-- the value to the user); `passkey_challenges` and `mail_outbox` may belong to no user.
-- `sign_in_history`, `totp_factors` and `last_writes` were keyed by the user already.

-- Foreign keys to `sessions (id)` go first: the key they point at is replaced.
ALTER TABLE login_approvals
    DROP CONSTRAINT login_approvals_decided_by_session_id_fkey,
    DROP CONSTRAINT login_approvals_session_id_fkey;
ALTER TABLE sessions DROP CONSTRAINT sessions_ended_by_fkey;

ALTER TABLE sessions
    DROP CONSTRAINT sessions_pkey,
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id, user_id),
    DROP CONSTRAINT sessions_token_hash_key,
    ADD CONSTRAINT sessions_token_hash_key UNIQUE (token_hash, user_id);

-- The session that ended another, and the one that decided or came out of an approval, are
-- the same user's: the pair (session, user) says so, and deleting that session clears only
-- the reference (PostgreSQL 15's column list), not the row's user.
ALTER TABLE sessions
    ADD CONSTRAINT sessions_ended_by_fkey FOREIGN KEY (ended_by, user_id)
        REFERENCES sessions (id, user_id) ON DELETE SET NULL (ended_by);
ALTER TABLE login_approvals
    ADD CONSTRAINT login_approvals_decided_by_session_id_fkey
        FOREIGN KEY (decided_by_session_id, user_id)
        REFERENCES sessions (id, user_id) ON DELETE SET NULL (decided_by_session_id),
    ADD CONSTRAINT login_approvals_session_id_fkey FOREIGN KEY (session_id, user_id)
        REFERENCES sessions (id, user_id) ON DELETE SET NULL (session_id);

ALTER TABLE login_approvals
    DROP CONSTRAINT login_approvals_pkey,
    ADD CONSTRAINT login_approvals_pkey PRIMARY KEY (id, user_id);

ALTER TABLE email_links
    DROP CONSTRAINT email_links_pkey,
    ADD CONSTRAINT email_links_pkey PRIMARY KEY (token_hash, user_id);

ALTER TABLE recovery_codes
    DROP CONSTRAINT recovery_codes_pkey,
    ADD CONSTRAINT recovery_codes_pkey PRIMARY KEY (id, user_id);

ALTER TABLE second_factor_challenges
    DROP CONSTRAINT second_factor_challenges_pkey,
    ADD CONSTRAINT second_factor_challenges_pkey PRIMARY KEY (id, user_id);

ALTER TABLE passkeys
    DROP CONSTRAINT passkeys_pkey,
    ADD CONSTRAINT passkeys_pkey PRIMARY KEY (id, user_id);

-- Partitioned: the key keeps the partition column and gains the user; PostgreSQL replaces
-- it on every partition.
ALTER TABLE activity DROP CONSTRAINT activity_pkey;
ALTER TABLE activity ADD CONSTRAINT activity_pkey PRIMARY KEY (id, created_at, user_id);
