-- Back to plain tables, keeping the rows.
ALTER TABLE activity RENAME TO activity_partitioned;
ALTER TABLE activity_partitioned RENAME CONSTRAINT activity_pkey TO activity_partitioned_pkey;
ALTER INDEX activity_by_user RENAME TO activity_partitioned_by_user;
CREATE TABLE activity (
    LIKE activity_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS,
    PRIMARY KEY (id)
);
ALTER SEQUENCE activity_id_seq OWNED BY activity.id;
INSERT INTO activity SELECT * FROM activity_partitioned;
DROP TABLE activity_partitioned;
ALTER TABLE activity ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
CREATE INDEX activity_by_user ON activity (user_id, id DESC);
CREATE INDEX activity_created_at ON activity (created_at);

ALTER TABLE login_attempts RENAME TO login_attempts_partitioned;
ALTER TABLE login_attempts_partitioned
    RENAME CONSTRAINT login_attempts_pkey TO login_attempts_partitioned_pkey;
ALTER INDEX login_attempts_by_key RENAME TO login_attempts_partitioned_by_key;
CREATE TABLE login_attempts (
    LIKE login_attempts_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS,
    PRIMARY KEY (id)
);
ALTER SEQUENCE login_attempts_id_seq OWNED BY login_attempts.id;
INSERT INTO login_attempts SELECT * FROM login_attempts_partitioned;
DROP TABLE login_attempts_partitioned;
CREATE INDEX login_attempts_by_key ON login_attempts (key, at);
CREATE INDEX login_attempts_by_time ON login_attempts (at);

DROP FUNCTION drop_time_partitions_before(REGCLASS, TIMESTAMPTZ);
DROP FUNCTION create_time_partitions(REGCLASS, TEXT, TIMESTAMPTZ, TIMESTAMPTZ);
DROP SCHEMA partitions;
