-- The sweeper deletes accounts whose address was never confirmed and that no session used
-- for UNCONFIRMED_ACCOUNT_DAYS (an address squatted by someone else is free again): it
-- looks for them oldest first, among the unconfirmed only. Every table that refers to
-- users does so with ON DELETE CASCADE, so deleting the row removes all of the account.
CREATE INDEX users_unconfirmed_by_age ON users (created_at) WHERE email_verified_at IS NULL;
