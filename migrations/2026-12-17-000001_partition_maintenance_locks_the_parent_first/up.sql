-- Partition maintenance takes its locks in the order the application's transactions do.
--
-- Before, `create_time_partitions` read the DEFAULT partition (and, moving its rows, locked
-- it and the new table) before `CREATE TABLE ... PARTITION OF` or `ATTACH PARTITION` asked
-- for the parent: a login taking its slots meanwhile (holding the parent, asking for a
-- partition) deadlocked with it, and PostgreSQL failed the login. A slot inserted into the
-- DEFAULT partition between the check for rows to move and the `CREATE` failed the pass
-- ("updated partition constraint for default partition would be violated"). And a partition
-- of `activity` copies its foreign key to `users`, for which PostgreSQL locks `users` while
-- the function already held `activity`: a signup (which writes `users`, then `activity`)
-- could deadlock with it too.
--
-- Now, before the first partition to create or drop, the function locks the tables the
-- parent's foreign keys point to (SHARE ROW EXCLUSIVE: their writes wait, their reads do
-- not), then the parent alone (`LOCK TABLE ONLY`, ACCESS EXCLUSIVE: every query reaches a
-- partition through it, so none holds a partition without it; the partitions themselves,
-- which autovacuum may be working on, are locked by the DDL that needs them). Inserts wait
-- while the partition is made (a scan of the DEFAULT partition's rows, if any), nothing can
-- land in the DEFAULT partition between the check and the change, and the function never
-- waits for a lock while holding one a transaction of the application could be waiting
-- behind. The sweeper bounds the wait (`lock_timeout`), as before.

-- Locks what partition DDL on `p_parent` will need, in the application's order.
CREATE FUNCTION lock_for_partition_ddl(p_parent REGCLASS) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    v_referenced REGCLASS;
BEGIN
    FOR v_referenced IN
        SELECT DISTINCT confrelid::regclass FROM pg_constraint
         WHERE conrelid = p_parent AND contype = 'f' AND confrelid <> p_parent
         ORDER BY 1
    LOOP
        EXECUTE format('LOCK TABLE ONLY %s IN SHARE ROW EXCLUSIVE MODE', v_referenced);
    END LOOP;
    EXECUTE format('LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE', p_parent);
END;
$$;

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
        IF to_regclass(format('partitions.%I', v_name)) IS NULL AND NOT v_locked THEN
            PERFORM lock_for_partition_ddl(p_parent);
            v_locked := true;
            SELECT i.inhrelid::regclass INTO v_default
              FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = p_parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
        END IF;
        -- Checked again under the lock: another caller may have made it meanwhile.
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

-- The same order when dropping: the locks are taken before the first partition goes, and
-- the DEFAULT partition's old rows are deleted last (under them, if they were taken; alone,
-- the delete holds only that partition's ROW EXCLUSIVE and asks for nothing after it).
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
                PERFORM lock_for_partition_ddl(p_parent);
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
