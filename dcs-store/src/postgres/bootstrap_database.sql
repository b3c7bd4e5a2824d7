-- DCS regional store, one-time bootstrap part 2: a database for the store.
-- Run by a superuser connected to the database, which was made with
--   CREATE DATABASE <name> OWNER dcs_owner;
-- after bootstrap_roles.sql. Idempotent.

-- Only the DCS roles connect; nobody else creates objects in the schema or temp tables.
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I OWNER TO dcs_owner', current_database());
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO dcs_owner, dcs_app, dcs_branch', current_database());
END $$;
ALTER SCHEMA public OWNER TO dcs_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO dcs_app, dcs_branch;

-- Per-table statistics would tell any tenant how many events the region holds.
DO $$
DECLARE f regprocedure; v text;
BEGIN
  FOREACH v IN ARRAY ARRAY['pg_stat_all_tables', 'pg_stat_user_tables', 'pg_stat_sys_tables',
      'pg_stat_xact_all_tables', 'pg_stat_xact_user_tables', 'pg_stat_xact_sys_tables',
      'pg_statio_all_tables', 'pg_statio_user_tables', 'pg_statio_sys_tables',
      'pg_stat_all_indexes', 'pg_stat_user_indexes', 'pg_stat_sys_indexes',
      'pg_statio_all_indexes', 'pg_statio_user_indexes', 'pg_statio_sys_indexes'] LOOP
    EXECUTE format('REVOKE SELECT ON pg_catalog.%I FROM PUBLIC', v);
  END LOOP;
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
           WHERE p.proname ~ '^pg_stat_get_(xact_)?(numscans|tuples_|blocks_|live_tuples|dead_tuples|ins_since|mod_since|last_|vacuum_|autovacuum_|analyze_|autoanalyze_|lastscan)'
             AND p.pronargs = 1 AND p.proargtypes[0] = 'oid'::regtype LOOP
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
END $$;

-- The guard: functions owned by the superuser, which the owner can use but neither
-- replace nor drop. The append-only triggers call dcs_guard.refuse_change(); the event
-- triggers below keep every sealed table sealed, for the owner too.
CREATE SCHEMA IF NOT EXISTS dcs_guard;
REVOKE ALL ON SCHEMA dcs_guard FROM PUBLIC;
GRANT USAGE ON SCHEMA dcs_guard TO dcs_owner, dcs_app, dcs_branch;

CREATE OR REPLACE FUNCTION dcs_guard.refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

-- A table is sealed once it has the dcs_no_truncate trigger. A sealed table keeps its
-- dcs_* triggers enabled, row-level security enabled and forced, and (a partition) stays
-- attached to its partitioned parent.
CREATE OR REPLACE FUNCTION dcs_guard.keep_sealed() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE bad text;
BEGIN
  WITH sealed AS (
    SELECT c.oid, c.relname, c.relkind, c.relispartition, c.relrowsecurity, c.relforcerowsecurity
    FROM pg_class c
    WHERE EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'dcs_no_truncate')
  ), problems AS (
    SELECT s.relname || ': trigger ' || t.tgname || ' is disabled' AS why
    FROM sealed s JOIN pg_trigger t ON t.tgrelid = s.oid
    WHERE t.tgname LIKE 'dcs\_%' AND t.tgenabled NOT IN ('O', 'A')
    UNION ALL
    SELECT s.relname || ': row-level security must stay enabled and forced'
    FROM sealed s WHERE NOT (s.relrowsecurity AND s.relforcerowsecurity)
    UNION ALL
    SELECT s.relname || ': a sealed partition must stay attached'
    FROM sealed s
    WHERE s.relkind = 'r' AND NOT s.relispartition
      AND s.relname ~ '^(event_store_p|audit_log_)'
  )
  SELECT string_agg(why, '; ') INTO bad FROM problems;
  -- Once the event log is sealed, the functions its guarantees rest on stay as they are.
  IF bad IS NULL AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgname = 'dcs_no_truncate'
                             AND t.tgrelid = to_regclass('public.event_store')) THEN
    SELECT string_agg(c.object_identity || ' may not be replaced or altered', '; ') INTO bad
    FROM pg_event_trigger_ddl_commands() c
    WHERE (c.object_type = 'function'
           AND c.object_identity ~ '^public\.dcs_(tenant|branch|claim_positions|check_claim|positions_forward|seal|ensure_audit_partitions)\(')
       -- A view a policy reads (dcs_claim, under whatever name), or a rule on it.
       OR (c.object_type IN ('view', 'rule') AND EXISTS (
             SELECT 1 FROM pg_depend d
             WHERE d.classid = 'pg_policy'::regclass AND d.refclassid = 'pg_class'::regclass
               AND d.refobjid = CASE WHEN c.object_type = 'view' THEN c.objid
                                     ELSE (SELECT r.ev_class FROM pg_rewrite r WHERE r.oid = c.objid) END));
  END IF;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'refused: the DCS event store stays append-only (%)', bad
      USING ERRCODE = 'insufficient_privilege';
  END IF;
END $$;

-- Dropping a sealed table, one of its columns, or a dcs_* trigger, policy, function or view is
-- refused.
CREATE OR REPLACE FUNCTION dcs_guard.refuse_drop() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE o record;
BEGIN
  FOR o IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
    IF (o.object_type IN ('table', 'table column')
          AND o.address_names[2] ~ '^(event_store|idempotency_keys|audit_log|event_position|forward_cursor)($|_)')
       OR (o.object_type = 'trigger' AND o.object_identity ~ '^dcs_')
       OR (o.object_type = 'policy' AND o.object_identity ~ '^dcs_')
       OR (o.object_type IN ('function', 'view') AND o.object_identity ~ '^public\.dcs_') THEN
      RAISE EXCEPTION 'refused: % % belongs to the append-only DCS event store', o.object_type, o.object_identity
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  END LOOP;
END $$;

-- Rewriting a sealed table (ALTER COLUMN ... TYPE ... USING, and the like) is refused:
-- a rewrite changes rows without firing the row triggers.
CREATE OR REPLACE FUNCTION dcs_guard.refuse_rewrite() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = pg_event_trigger_table_rewrite_oid()
             AND t.tgname = 'dcs_no_truncate') THEN
    RAISE EXCEPTION 'refused: % is append-only, it may not be rewritten',
      pg_event_trigger_table_rewrite_oid()::regclass USING ERRCODE = 'insufficient_privilege';
  END IF;
END $$;

DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'dcs_keep_sealed') THEN
    CREATE EVENT TRIGGER dcs_keep_sealed ON ddl_command_end EXECUTE FUNCTION dcs_guard.keep_sealed();
  END IF;
  IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'dcs_refuse_drop') THEN
    CREATE EVENT TRIGGER dcs_refuse_drop ON sql_drop EXECUTE FUNCTION dcs_guard.refuse_drop();
  END IF;
  IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'dcs_refuse_rewrite') THEN
    CREATE EVENT TRIGGER dcs_refuse_rewrite ON table_rewrite EXECUTE FUNCTION dcs_guard.refuse_rewrite();
  END IF;
END $$;
