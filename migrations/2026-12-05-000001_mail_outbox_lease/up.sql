-- A worker claims a mail for a while instead of holding its row lock while it talks to the
-- SMTP server: the claim commits before the mail is sent, the outcome is recorded after,
-- and a mail whose worker died is claimed again once `claimed_until` has passed.
ALTER TABLE mail_outbox ADD COLUMN claimed_until TIMESTAMPTZ;
