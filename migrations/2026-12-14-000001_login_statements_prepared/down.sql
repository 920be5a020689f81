DROP FUNCTION release_login_slots(BIGINT[], TEXT);
DROP FUNCTION publish_events(TEXT, TEXT[]);
DROP FUNCTION record_sign_in(UUID, TEXT[], TEXT[], TIMESTAMPTZ);
