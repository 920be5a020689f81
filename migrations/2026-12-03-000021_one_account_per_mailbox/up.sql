-- One account per mailbox. The API stores addresses normalised (trimmed, lower-cased,
-- a bare local@domain: `shared::rules::email`), and `email` is unique; this index keeps
-- the normalised form unique even for a row written around the API.
--
-- The rule got stricter (no display names, comments or quoted local parts; host-name
-- domains). Accounts stored before under an address it refuses can no longer sign in;
-- an operator finds them with
--   SELECT email FROM users WHERE email !~ '^[^@<>()\[\]\\,;:"\s]+@([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z0-9-]*[a-z-][a-z0-9-]*$';
-- and removes them with `api admin user delete EMAIL`.
CREATE UNIQUE INDEX users_email_lower_unique ON users (lower(email));
