ALTER TABLE login_approvals DROP COLUMN keep_signed_in;
ALTER TABLE sessions DROP COLUMN persistent;
