// @generated automatically by Diesel CLI.

diesel::table! {
    activity (id, created_at, user_id) {
        id -> Int8,
        user_id -> Uuid,
        kind -> Text,
        session_id -> Nullable<Uuid>,
        ip -> Nullable<Text>,
        device -> Nullable<Text>,
        detail -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        name -> Text,
        scope -> Text,
        key_hash -> Bytea,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    email_links (token_hash, user_id) {
        token_hash -> Bytea,
        user_id -> Uuid,
        purpose -> Text,
        email -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        new_email -> Nullable<Text>,
    }
}

diesel::table! {
    last_writes (user_id) {
        user_id -> Uuid,
        lsn -> Int8,
    }
}

diesel::table! {
    login_approvals (id, user_id) {
        id -> Uuid,
        user_id -> Uuid,
        code_hash -> Bytea,
        pending_token_hash -> Bytea,
        device -> Text,
        os -> Text,
        browser -> Text,
        user_agent -> Text,
        ip -> Text,
        status -> Text,
        failed_attempts -> Int4,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
        decided_by_session_id -> Nullable<Uuid>,
        session_id -> Nullable<Uuid>,
        country -> Nullable<Text>,
        keep_signed_in -> Bool,
        channel -> Text,
        device_id -> Nullable<Text>,
        proof_method -> Text,
    }
}

diesel::table! {
    login_attempts (id, at) {
        id -> Int8,
        key -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Int8,
        user_id -> Nullable<Uuid>,
        recipient -> Text,
        kind -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        claimed_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    passkey_challenges (id) {
        id -> Uuid,
        purpose -> Text,
        user_id -> Nullable<Uuid>,
        state -> Jsonb,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    passkeys (id, user_id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        credential_id -> Bytea,
        passkey -> Jsonb,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    recovery_codes (id, user_id) {
        id -> Int8,
        user_id -> Uuid,
        code_hash -> Bytea,
        created_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    second_factor_challenges (id, user_id) {
        id -> Uuid,
        user_id -> Uuid,
        device -> Text,
        os -> Text,
        browser -> Text,
        user_agent -> Text,
        ip -> Text,
        country -> Nullable<Text>,
        device_id -> Nullable<Text>,
        keep_signed_in -> Bool,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sessions (id, user_id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        device -> Text,
        os -> Text,
        browser -> Text,
        user_agent -> Text,
        ip -> Text,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
        end_reason -> Nullable<Text>,
        ended_by -> Nullable<Uuid>,
        country -> Nullable<Text>,
        persistent -> Bool,
        device_id -> Nullable<Text>,
        proved_at -> Timestamptz,
        proof_method -> Text,
        user_email -> Text,
        user_name -> Text,
        user_created_at -> Timestamptz,
        user_updated_at -> Timestamptz,
        user_email_verified_at -> Nullable<Timestamptz>,
        user_device_generation -> Int4,
        user_devices_forgotten_at -> Nullable<Timestamptz>,
        user_totp_enabled_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sign_in_history (user_id, kind, value) {
        user_id -> Uuid,
        kind -> Text,
        value -> Text,
        first_seen_at -> Timestamptz,
    }
}

diesel::table! {
    totp_factors (user_id) {
        user_id -> Uuid,
        secret -> Bytea,
        created_at -> Timestamptz,
        last_used_step -> Nullable<Int8>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        email_verified_at -> Nullable<Timestamptz>,
        device_generation -> Int4,
        devices_forgotten_at -> Nullable<Timestamptz>,
        totp_enabled_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        endpoint_id -> Uuid,
        event_type -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        claimed_until -> Nullable<Timestamptz>,
        delivered_at -> Nullable<Timestamptz>,
        last_status -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        failed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        url -> Text,
        events -> Array<Nullable<Text>>,
        secret -> Text,
        created_at -> Timestamptz,
        disabled_at -> Nullable<Timestamptz>,
        failing_since -> Nullable<Timestamptz>,
        consecutive_failures -> Int4,
    }
}

diesel::joinable!(activity -> users (user_id));
diesel::joinable!(email_links -> users (user_id));
diesel::joinable!(last_writes -> users (user_id));
diesel::joinable!(login_approvals -> users (user_id));
diesel::joinable!(mail_outbox -> users (user_id));
diesel::joinable!(passkey_challenges -> users (user_id));
diesel::joinable!(passkeys -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(second_factor_challenges -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(sign_in_history -> users (user_id));
diesel::joinable!(totp_factors -> users (user_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));

diesel::allow_tables_to_appear_in_same_query!(
    activity,
    api_keys,
    email_links,
    last_writes,
    login_approvals,
    login_attempts,
    mail_outbox,
    passkey_challenges,
    passkeys,
    recovery_codes,
    second_factor_challenges,
    sessions,
    sign_in_history,
    totp_factors,
    users,
    webhook_deliveries,
    webhook_endpoints,
);
