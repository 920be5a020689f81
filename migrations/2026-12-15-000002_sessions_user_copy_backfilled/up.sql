-- The copy of its user for every session made before the triggers (ended ones too, so that the
-- columns can be NOT NULL). A migration of its own: the table is not locked meanwhile, only the
-- rows as they are updated (6.2 s for 200 000 sessions here), so instances still running check
-- sessions as before; the previous migration's ALTER TABLE held the table's lock only briefly.
-- `user_email IS NULL`: a row the triggers filled meanwhile (a user changed while this runs) is
-- left as they wrote it, not overwritten with what this statement read before.
UPDATE sessions s
   SET user_email = u.email,
       user_name = u.name,
       user_created_at = u.created_at,
       user_updated_at = u.updated_at,
       user_email_verified_at = u.email_verified_at,
       user_device_generation = u.device_generation,
       user_devices_forgotten_at = u.devices_forgotten_at,
       user_totp_enabled_at = u.totp_enabled_at
  FROM users u
 WHERE u.id = s.user_id
   AND s.user_email IS NULL;
