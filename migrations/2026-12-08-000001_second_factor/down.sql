DROP TABLE second_factor_challenges;
DROP TABLE recovery_codes;
DROP TABLE totp_factors;
ALTER TABLE users DROP COLUMN totp_enabled_at;
ALTER TABLE login_approvals DROP COLUMN proof_method;
ALTER TABLE sessions DROP COLUMN proof_method, DROP COLUMN proved_at;
