DROP TRIGGER users_copy_to_their_sessions ON users;
DROP FUNCTION users_copy_to_their_sessions();
DROP TRIGGER sessions_copy_their_user ON sessions;
DROP FUNCTION sessions_copy_their_user();
ALTER TABLE sessions
    DROP COLUMN user_email,
    DROP COLUMN user_name,
    DROP COLUMN user_created_at,
    DROP COLUMN user_updated_at,
    DROP COLUMN user_email_verified_at,
    DROP COLUMN user_device_generation,
    DROP COLUMN user_devices_forgotten_at,
    DROP COLUMN user_totp_enabled_at;
