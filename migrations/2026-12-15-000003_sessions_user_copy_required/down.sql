ALTER TABLE sessions
    ALTER COLUMN user_email DROP NOT NULL,
    ALTER COLUMN user_name DROP NOT NULL,
    ALTER COLUMN user_created_at DROP NOT NULL,
    ALTER COLUMN user_updated_at DROP NOT NULL,
    ALTER COLUMN user_device_generation DROP NOT NULL;
