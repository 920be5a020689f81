ALTER TABLE activity DROP CONSTRAINT activity_pkey;
ALTER TABLE activity ADD CONSTRAINT activity_pkey PRIMARY KEY (id, created_at);

ALTER TABLE passkeys
    DROP CONSTRAINT passkeys_pkey,
    ADD CONSTRAINT passkeys_pkey PRIMARY KEY (id);
ALTER TABLE second_factor_challenges
    DROP CONSTRAINT second_factor_challenges_pkey,
    ADD CONSTRAINT second_factor_challenges_pkey PRIMARY KEY (id);
ALTER TABLE recovery_codes
    DROP CONSTRAINT recovery_codes_pkey,
    ADD CONSTRAINT recovery_codes_pkey PRIMARY KEY (id);
ALTER TABLE email_links
    DROP CONSTRAINT email_links_pkey,
    ADD CONSTRAINT email_links_pkey PRIMARY KEY (token_hash);
ALTER TABLE login_approvals
    DROP CONSTRAINT login_approvals_pkey,
    ADD CONSTRAINT login_approvals_pkey PRIMARY KEY (id);

ALTER TABLE login_approvals
    DROP CONSTRAINT login_approvals_decided_by_session_id_fkey,
    DROP CONSTRAINT login_approvals_session_id_fkey;
ALTER TABLE sessions DROP CONSTRAINT sessions_ended_by_fkey;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_pkey,
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id),
    DROP CONSTRAINT sessions_token_hash_key,
    ADD CONSTRAINT sessions_token_hash_key UNIQUE (token_hash);
ALTER TABLE sessions
    ADD CONSTRAINT sessions_ended_by_fkey FOREIGN KEY (ended_by)
        REFERENCES sessions (id) ON DELETE SET NULL;
ALTER TABLE login_approvals
    ADD CONSTRAINT login_approvals_decided_by_session_id_fkey FOREIGN KEY (decided_by_session_id)
        REFERENCES sessions (id) ON DELETE SET NULL,
    ADD CONSTRAINT login_approvals_session_id_fkey FOREIGN KEY (session_id)
        REFERENCES sessions (id) ON DELETE SET NULL;
