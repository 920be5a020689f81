-- The tables that grow with every request are partitioned by time, so that retention is a
-- `DROP TABLE` of a whole partition instead of a `DELETE` of millions of rows (no dead
-- tuples, no vacuum debt, no index bloat): `activity` by month (kept HISTORY_RETENTION_DAYS)
-- and `login_attempts` by hour (kept for the longest throttle window). The sweeper creates
-- partitions ahead of time and drops those wholly past their retention
-- (`services::partitions`); a row is therefore kept at least as long as its retention and
-- at most one partition longer.
--
-- A partitioned table's primary key must include the partition key, hence `(id, created_at)`
-- and `(id, at)`; nothing refers to these rows by key and no insert has an ON CONFLICT.
-- Partitions live in the schema `partitions`, so that `diesel print-schema` (which reads
-- `public`) sees only the parents. A DEFAULT partition catches rows no partition covers yet
-- (an instance whose sweeper has not run for a while): an insert never fails for want of a
-- partition, and the sweeper moves such rows into the partition it creates for them.
CREATE SCHEMA partitions;

-- Creates the partitions of `p_parent` (range-partitioned on one timestamptz column) for
-- every `p_unit` ('hour', 'day', 'month', ... in UTC) from the one holding `p_from` to
-- the one holding `p_to`, moving any rows the DEFAULT partition holds for their range.
-- Returns how many it created.
CREATE FUNCTION create_time_partitions(
    p_parent REGCLASS, p_unit TEXT, p_from TIMESTAMPTZ, p_to TIMESTAMPTZ
) RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    v_relname TEXT;
    v_column TEXT;
    v_default REGCLASS;
    v_lo TIMESTAMPTZ;
    v_hi TIMESTAMPTZ;
    v_name TEXT;
    v_waiting BOOLEAN;
    v_created INTEGER := 0;
BEGIN
    SELECT c.relname, a.attname INTO v_relname, v_column
      FROM pg_partitioned_table p
      JOIN pg_class c ON c.oid = p.partrelid
      JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE p.partrelid = p_parent;
    SELECT i.inhrelid::regclass INTO v_default
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = p_parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
    v_lo := date_trunc(p_unit, p_from, 'UTC');
    WHILE v_lo <= p_to LOOP
        v_hi := ((v_lo AT TIME ZONE 'UTC') + ('1 ' || p_unit)::INTERVAL) AT TIME ZONE 'UTC';
        v_name := v_relname || '_' || to_char(v_lo AT TIME ZONE 'UTC', 'YYYYMMDD"t"HH24');
        IF to_regclass(format('partitions.%I', v_name)) IS NULL THEN
            v_waiting := false;
            IF v_default IS NOT NULL THEN
                EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I >= $1 AND %I < $2)',
                               v_default, v_column, v_column)
                   INTO v_waiting USING v_lo, v_hi;
            END IF;
            IF v_waiting THEN
                EXECUTE format('CREATE TABLE partitions.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                               v_name, p_parent);
                EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= $1 AND %I < $2 RETURNING *) '
                               'INSERT INTO partitions.%I SELECT * FROM moved',
                               v_default, v_column, v_column, v_name) USING v_lo, v_hi;
                EXECUTE format('ALTER TABLE %s ATTACH PARTITION partitions.%I FOR VALUES FROM (%L) TO (%L)',
                               p_parent, v_name, v_lo, v_hi);
            ELSE
                EXECUTE format('CREATE TABLE partitions.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                               v_name, p_parent, v_lo, v_hi);
            END IF;
            v_created := v_created + 1;
        END IF;
        v_lo := v_hi;
    END LOOP;
    RETURN v_created;
END;
$$;

-- Drops the partitions of `p_parent` whose range ends at or before `p_cutoff` (and deletes
-- the DEFAULT partition's rows before it). Returns how many partitions it dropped.
CREATE FUNCTION drop_time_partitions_before(p_parent REGCLASS, p_cutoff TIMESTAMPTZ)
RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    v_part RECORD;
    v_column TEXT;
    v_dropped INTEGER := 0;
BEGIN
    SELECT a.attname INTO v_column
      FROM pg_partitioned_table p
      JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE p.partrelid = p_parent;
    FOR v_part IN
        SELECT i.inhrelid::regclass AS relation, pg_get_expr(c.relpartbound, c.oid) AS bound
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = p_parent
    LOOP
        IF v_part.bound = 'DEFAULT' THEN
            EXECUTE format('DELETE FROM %s WHERE %I < $1', v_part.relation, v_column) USING p_cutoff;
        ELSIF (regexp_match(v_part.bound, 'TO \(''([^'']+)''\)'))[1]::TIMESTAMPTZ <= p_cutoff THEN
            EXECUTE format('DROP TABLE %s', v_part.relation);
            v_dropped := v_dropped + 1;
        END IF;
    END LOOP;
    RETURN v_dropped;
END;
$$;

-- activity: the old table's rows move into monthly partitions.
ALTER TABLE activity RENAME TO activity_unpartitioned;
ALTER TABLE activity_unpartitioned RENAME CONSTRAINT activity_pkey TO activity_unpartitioned_pkey;
ALTER TABLE activity_unpartitioned DROP CONSTRAINT activity_user_id_fkey;
DROP INDEX activity_by_user;
DROP INDEX activity_created_at;
CREATE TABLE activity (
    LIKE activity_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS,
    PRIMARY KEY (id, created_at),
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) PARTITION BY RANGE (created_at);
ALTER SEQUENCE activity_id_seq OWNED BY activity.id;
-- The log page, newest first (ids grow with time); retention needs no index any more.
CREATE INDEX activity_by_user ON activity (user_id, id DESC);
CREATE TABLE partitions.activity_default PARTITION OF activity DEFAULT;
SELECT create_time_partitions('activity', 'month',
    LEAST(now(), (SELECT min(created_at) FROM activity_unpartitioned)), now() + INTERVAL '2 months');
INSERT INTO activity SELECT * FROM activity_unpartitioned;
DROP TABLE activity_unpartitioned;

-- login_attempts: hourly partitions (the throttle windows are minutes to an hour).
ALTER TABLE login_attempts RENAME TO login_attempts_unpartitioned;
ALTER TABLE login_attempts_unpartitioned
    RENAME CONSTRAINT login_attempts_pkey TO login_attempts_unpartitioned_pkey;
DROP INDEX login_attempts_by_key;
DROP INDEX login_attempts_by_time;
CREATE TABLE login_attempts (
    LIKE login_attempts_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE login_attempts_id_seq OWNED BY login_attempts.id;
CREATE INDEX login_attempts_by_key ON login_attempts (key, at);
CREATE TABLE partitions.login_attempts_default PARTITION OF login_attempts DEFAULT;
SELECT create_time_partitions('login_attempts', 'hour',
    LEAST(now(), (SELECT min(at) FROM login_attempts_unpartitioned)), now() + INTERVAL '2 hours');
INSERT INTO login_attempts SELECT * FROM login_attempts_unpartitioned;
DROP TABLE login_attempts_unpartitioned;
