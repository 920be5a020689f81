-- The functions as 2026-12-11-000001_partitioned_history made them.
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
CREATE OR REPLACE FUNCTION drop_time_partitions_before(p_parent REGCLASS, p_cutoff TIMESTAMPTZ)
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

DROP FUNCTION lock_for_partition_ddl(REGCLASS);
