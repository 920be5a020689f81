-- Partition maintenance takes the parent's lock before any partition's, as every query
-- through the parent does.
--
-- Before, `create_time_partitions` read the DEFAULT partition (and, moving its rows, locked
-- it and the new table) before `CREATE TABLE ... PARTITION OF` or `ATTACH PARTITION` asked
-- for the parent: a login taking its slots meanwhile (holding the parent, asking for a
-- partition) deadlocked with it, and PostgreSQL failed the login. And a slot inserted into
-- the DEFAULT partition between the check for rows to move and the `CREATE` failed the pass
-- ("updated partition constraint for default partition would be violated").
--
-- Now the first partition to create or drop first locks the parent and its partitions
-- (`LOCK TABLE`, ACCESS EXCLUSIVE, the parent first): inserts and reads wait the few
-- milliseconds the change takes, nothing can land in the DEFAULT partition between the
-- check and the change, and no lock is ever waited for while a partition's is held. The
-- sweeper bounds the wait (`lock_timeout`), as before.
CREATE OR REPLACE FUNCTION create_time_partitions(
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
    v_locked BOOLEAN := false;
    v_created INTEGER := 0;
BEGIN
    SELECT c.relname, a.attname INTO v_relname, v_column
      FROM pg_partitioned_table p
      JOIN pg_class c ON c.oid = p.partrelid
      JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE p.partrelid = p_parent;
    v_lo := date_trunc(p_unit, p_from, 'UTC');
    WHILE v_lo <= p_to LOOP
        v_hi := ((v_lo AT TIME ZONE 'UTC') + ('1 ' || p_unit)::INTERVAL) AT TIME ZONE 'UTC';
        v_name := v_relname || '_' || to_char(v_lo AT TIME ZONE 'UTC', 'YYYYMMDD"t"HH24');
        IF to_regclass(format('partitions.%I', v_name)) IS NULL THEN
            IF NOT v_locked THEN
                EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', p_parent);
                v_locked := true;
                SELECT i.inhrelid::regclass INTO v_default
                  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = p_parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
            END IF;
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

-- The same order when dropping: the parent is locked before the first partition goes, and
-- the DEFAULT partition's old rows are deleted last (under that lock, if one was taken).
CREATE OR REPLACE FUNCTION drop_time_partitions_before(p_parent REGCLASS, p_cutoff TIMESTAMPTZ)
RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    v_part RECORD;
    v_column TEXT;
    v_default REGCLASS;
    v_locked BOOLEAN := false;
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
            v_default := v_part.relation;
        ELSIF (regexp_match(v_part.bound, 'TO \(''([^'']+)''\)'))[1]::TIMESTAMPTZ <= p_cutoff THEN
            IF NOT v_locked THEN
                EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', p_parent);
                v_locked := true;
            END IF;
            EXECUTE format('DROP TABLE %s', v_part.relation);
            v_dropped := v_dropped + 1;
        END IF;
    END LOOP;
    IF v_default IS NOT NULL THEN
        EXECUTE format('DELETE FROM %s WHERE %I < $1', v_default, v_column) USING p_cutoff;
    END IF;
    RETURN v_dropped;
END;
$$;
