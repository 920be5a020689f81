-- "Keep me signed in on this device": the session's cookie then outlives the browser (up to
-- the absolute lifetime); otherwise it is a browser-session cookie.
ALTER TABLE sessions ADD COLUMN persistent BOOLEAN NOT NULL DEFAULT false;
-- Asked for at login; the session made on approval inherits it.
ALTER TABLE login_approvals ADD COLUMN keep_signed_in BOOLEAN NOT NULL DEFAULT false;
