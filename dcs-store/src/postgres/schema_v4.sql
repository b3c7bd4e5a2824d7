-- DCS regional event store, schema version 4: hardened against every role but the
-- superuser (the attacker's report of issue 17). Needs the superuser bootstrap first:
-- its dcs_guard schema and event triggers (bootstrap_database.sql).
DO $$ BEGIN
  IF to_regprocedure('dcs_guard.refuse_change()') IS NULL THEN
    RAISE EXCEPTION 'dcs_guard.refuse_change() does not exist: run the superuser bootstrap of this database (dcs_store::postgres::bootstrap_database) first'
      USING ERRCODE = 'undefined_function';
  END IF;
END $$;

-- Positions -----------------------------------------------------------------------------
-- The counter is nobody's to write but dcs_claim_positions' (SECURITY DEFINER, pinned
-- search_path): the application roles have no privilege on it at all (no UPDATE, no
-- SELECT ... FOR UPDATE, no LOCK, no reading the region's event count).
REVOKE ALL ON event_position FROM PUBLIC, dcs_app, dcs_branch;
-- The transaction holding the counter (its claim runs from claimed_from to last) and how
-- many claims it made.
ALTER TABLE event_position
  ADD COLUMN holder xid8,
  ADD COLUMN claimed_from bigint NOT NULL DEFAULT 1,
  ADD COLUMN claims bigint NOT NULL DEFAULT 0;
UPDATE event_position SET claimed_from = last + 1;

-- Every change of the counter is a claim: forward, by the transaction itself, its range
-- starting right after the head it found.
CREATE FUNCTION dcs_positions_forward() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE me xid8 := pg_current_xact_id();
BEGIN
  IF NEW.id <> OLD.id OR NEW.last < OLD.last OR NEW.holder IS DISTINCT FROM me
     OR NEW.claimed_from <> (CASE WHEN OLD.holder = me THEN OLD.claimed_from ELSE OLD.last + 1 END)
     OR NEW.claims <> (CASE WHEN OLD.holder = me THEN OLD.claims + 1 ELSE 1 END) THEN
    RAISE EXCEPTION 'event_position moves only forward, through dcs_claim_positions'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;

-- Claims the next n positions (0 only locks) for this transaction and returns the head
-- before them. The row lock is held until commit, so positions are handed out in commit
-- order. A transaction that has held it for more than 5 seconds (stalled, or hostile) is
-- ended so the others can go on; a waiter gives up after 4 waits of 2 seconds (Locked).
-- The common case, a counter nobody else holds, takes the lock without waiting and so
-- without the exception block (a subtransaction) that bounds the wait.
CREATE FUNCTION dcs_claim_positions(n bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET lock_timeout = '2s' AS $$
DECLARE
  me xid8 := pg_current_xact_id();
  head bigint;
  holder_pid int;
BEGIN
  IF n IS NULL OR n < 0 OR n > 100000 THEN
    RAISE EXCEPTION 'a claim is for 0 to 100000 positions, not %', n USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOR attempt IN 0..4 LOOP
    IF attempt = 0 THEN
      -- Free, or already this transaction's: locked now, no wait.
      PERFORM 1 FROM event_position WHERE id = 1 FOR UPDATE SKIP LOCKED;
      CONTINUE WHEN NOT FOUND;
    ELSE
      BEGIN
        PERFORM 1 FROM event_position WHERE id = 1 FOR UPDATE;
      EXCEPTION WHEN lock_not_available THEN
        SELECT l.pid INTO holder_pid FROM pg_locks l
          WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 25699 AND l.objid = 28783
            AND l.objsubid = 2;
        IF holder_pid IS NOT NULL AND EXISTS (
             SELECT 1 FROM pg_stat_activity a
             WHERE a.pid = holder_pid AND a.xact_start < clock_timestamp() - interval '5 seconds') THEN
          PERFORM pg_terminate_backend(holder_pid, 1000);
        END IF;
        CONTINUE;
      END;
    END IF;
    UPDATE event_position SET
        claimed_from = CASE WHEN holder = me THEN claimed_from ELSE last + 1 END,
        claims = CASE WHEN holder = me THEN claims + 1 ELSE 1 END,
        holder = me,
        last = last + n
      WHERE id = 1
      RETURNING last - n INTO head;
    -- Marks this session as the holder where waiters can see it (pg_locks): after a wait
    -- the row's lock names a subtransaction, which pg_locks does not show.
    PERFORM pg_try_advisory_xact_lock(25699, 28783);
    RETURN head;
  END LOOP;
  RAISE EXCEPTION 'the position counter stayed locked by another transaction'
    USING ERRCODE = 'lock_not_available';
END $$;

-- The positions this transaction claimed, claimed_from to last (no row if it claimed
-- none). A view as the owner, so the application roles read no column of the counter
-- itself and nobody sees another transaction's claim (security_barrier: no function of
-- the reader's is applied to a row before the filter). The claimed-positions policy and
-- the ingest read it once per statement, as a plain scan of one row: through a
-- SECURITY DEFINER function each read cost about 30 microseconds.
CREATE VIEW dcs_claim WITH (security_barrier) AS
  SELECT claimed_from, last FROM event_position WHERE id = 1 AND holder = pg_current_xact_id();

-- At commit: the claimed positions hold exactly one event each (no gap, no twice).
CREATE FUNCTION dcs_check_claim() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  c record;
  written bigint;
  distinct_positions bigint;
BEGIN
  SELECT * INTO c FROM event_position WHERE id = 1;
  IF NEW.claims <> c.claims OR c.holder IS DISTINCT FROM pg_current_xact_id() THEN
    RETURN NULL; -- an earlier claim of this transaction: the last one checks them all
  END IF;
  SELECT count(*), count(DISTINCT position) INTO written, distinct_positions
    FROM event_store WHERE position BETWEEN c.claimed_from AND c.last;
  IF written <> c.last - c.claimed_from + 1 OR distinct_positions <> written THEN
    RAISE EXCEPTION 'positions % to % were claimed, but % events at % distinct positions were written: positions stay unique and gap-free',
      c.claimed_from, c.last, written, distinct_positions USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END $$;

REVOKE ALL ON FUNCTION dcs_claim_positions(bigint), dcs_check_claim(), dcs_positions_forward()
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dcs_claim_positions(bigint) TO dcs_app, dcs_branch;
REVOKE ALL ON dcs_claim FROM PUBLIC;
GRANT SELECT ON dcs_claim TO dcs_app, dcs_branch;

ALTER TABLE event_position ENABLE ROW LEVEL SECURITY;
ALTER TABLE event_position FORCE ROW LEVEL SECURITY;
CREATE POLICY dcs_owner_only ON event_position FOR ALL TO dcs_owner USING (true) WITH CHECK (true);
CREATE TRIGGER dcs_forward_only BEFORE UPDATE ON event_position
  FOR EACH ROW EXECUTE FUNCTION dcs_positions_forward();
CREATE TRIGGER dcs_append_only BEFORE INSERT OR DELETE ON event_position
  FOR EACH ROW EXECUTE FUNCTION dcs_guard.refuse_change();
CREATE CONSTRAINT TRIGGER dcs_claims_filled AFTER UPDATE ON event_position
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION dcs_check_claim();

-- An event row goes only to a position its transaction claimed: the claim is read once per
-- statement (two InitPlans), then two bigint comparisons per row (a range containment test
-- per row cost the ingest a tenth of its speed). No claim: NULL bounds, refused.
CREATE POLICY dcs_claimed_positions ON event_store AS RESTRICTIVE FOR INSERT TO dcs_app, dcs_branch
  WITH CHECK (position >= (SELECT claimed_from FROM dcs_claim) AND position <= (SELECT last FROM dcs_claim));
-- The commit check counts the claimed positions as the owner.
CREATE POLICY dcs_owner_reads ON event_store FOR SELECT TO dcs_owner USING (true);

-- Tenant in every key ------------------------------------------------------------------
-- Another tenant's equal event id is that tenant's own event: no unique violation, no
-- ON CONFLICT, no row count tells one tenant about another's ids, and no id can be squatted.
-- The id leads (the partition key, and almost every comparison in the index ends there).
ALTER TABLE event_store DROP CONSTRAINT event_store_pkey;
ALTER TABLE event_store ADD PRIMARY KEY (event_id, tenant_id);

-- Appends read stream versions from the stream index; nobody writes stream_metadata now.
REVOKE INSERT, UPDATE, DELETE ON stream_metadata FROM dcs_app, dcs_branch;

-- Branch logins: bound to their identity ------------------------------------------------
-- A branch login sees and writes only the tenant and branch its row here names, whatever
-- its session sets (dcs.tenant_id / dcs.branch_id must agree too). The owner fills it.
CREATE TABLE dcs_logins (
  login name PRIMARY KEY,
  tenant_id text COLLATE "C" NOT NULL,
  branch_id text COLLATE "C" NOT NULL
);
ALTER TABLE dcs_logins ENABLE ROW LEVEL SECURITY;
ALTER TABLE dcs_logins FORCE ROW LEVEL SECURITY;
CREATE POLICY dcs_own_login ON dcs_logins FOR SELECT TO dcs_branch USING (login = current_user);
CREATE POLICY dcs_owner_manages ON dcs_logins FOR ALL TO dcs_owner USING (true) WITH CHECK (true);
GRANT SELECT ON dcs_logins TO dcs_branch;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['event_store', 'idempotency_keys', 'stream_metadata', 'snapshots',
      'saga_instances', 'saga_steps', 'projection_sales_summary', 'projection_inventory',
      'projection_customer_loyalty', 'crdt_state', 'agent_registry', 'audit_log'] LOOP
    EXECUTE format('DROP POLICY branch_rows ON %I', t);
    EXECUTE format('CREATE POLICY branch_rows ON %I FOR ALL TO dcs_branch
                      USING (tenant_id = dcs_tenant() AND branch_id = dcs_branch()
                             AND tenant_id = (SELECT l.tenant_id FROM dcs_logins l WHERE l.login = current_user)
                             AND branch_id = (SELECT l.branch_id FROM dcs_logins l WHERE l.login = current_user))
                      WITH CHECK (tenant_id = dcs_tenant() AND branch_id = dcs_branch()
                             AND tenant_id = (SELECT l.tenant_id FROM dcs_logins l WHERE l.login = current_user)
                             AND branch_id = (SELECT l.branch_id FROM dcs_logins l WHERE l.login = current_user))', t);
  END LOOP;
END $$;
-- A branch does not write the region's projections (the forwarder does): it can take no
-- lock on them that would stall every tenant's ingest.
REVOKE INSERT, UPDATE, DELETE ON projection_sales_summary, projection_inventory,
  projection_customer_loyalty FROM dcs_branch;

-- Append-only: idempotency keys and the audit log like the event log ----------------------
REVOKE UPDATE, DELETE, TRUNCATE ON event_store, idempotency_keys, audit_log FROM dcs_app, dcs_branch;
-- An audit row is written now, not back-dated.
CREATE POLICY dcs_audit_now ON audit_log AS RESTRICTIVE FOR INSERT TO dcs_app, dcs_branch
  WITH CHECK (at BETWEEN clock_timestamp() - interval '5 minutes' AND clock_timestamp());

-- The monthly audit partitions, from this month to months_ahead months on, each sealed
-- like its parent. Run by the owner: by migrate, and by the operator's monthly job.
CREATE OR REPLACE FUNCTION dcs_ensure_audit_partitions(months_ahead int) RETURNS int
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  m date := date_trunc('month', now())::date;
  made int := 0;
  name text;
BEGIN
  FOR i IN 0..months_ahead LOOP
    name := 'audit_log_' || to_char(m, 'YYYY_MM');
    IF to_regclass(name) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)',
                     name, m, (m + interval '1 month')::date);
      PERFORM dcs_seal(name::regclass);
      made := made + 1;
    END IF;
    m := (m + interval '1 month')::date;
  END LOOP;
  RETURN made;
END $$;

-- Seals a table: row-level security enabled and forced (a partition gets no policy, so
-- whoever is granted it directly sees nothing), the append-only row triggers (cloned
-- from a partitioned parent), and a TRUNCATE trigger of its own (never cloned). The
-- bootstrap's event triggers keep a sealed table sealed.
CREATE FUNCTION dcs_seal(t regclass) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = t AND tgname = 'dcs_append_only') THEN
    EXECUTE format('CREATE TRIGGER dcs_append_only BEFORE UPDATE OR DELETE ON %s
                      FOR EACH ROW EXECUTE FUNCTION dcs_guard.refuse_change()', t);
  END IF;
  EXECUTE format('CREATE TRIGGER dcs_no_truncate BEFORE TRUNCATE ON %s
                    FOR EACH STATEMENT EXECUTE FUNCTION dcs_guard.refuse_change()', t);
END $$;
REVOKE ALL ON FUNCTION dcs_seal(regclass), dcs_ensure_audit_partitions(int) FROM PUBLIC;

DROP TRIGGER event_store_append_only ON event_store;
DROP TRIGGER event_store_no_truncate ON event_store;
DO $$
DECLARE p regclass;
BEGIN
  -- Partitions first, then their parents (whose row triggers the partitions then clone).
  FOR p IN SELECT i.inhrelid::regclass FROM pg_inherits i
           WHERE i.inhparent IN ('event_store'::regclass, 'audit_log'::regclass) LOOP
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', p);
  END LOOP;
  PERFORM dcs_seal('event_store');
  PERFORM dcs_seal('idempotency_keys');
  PERFORM dcs_seal('audit_log');
  FOR p IN SELECT i.inhrelid::regclass FROM pg_inherits i
           WHERE i.inhparent IN ('event_store'::regclass, 'audit_log'::regclass) LOOP
    PERFORM dcs_seal(p);
  END LOOP;
  -- The counter: its own row triggers above; TRUNCATE too.
  CREATE TRIGGER dcs_no_truncate BEFORE TRUNCATE ON event_position
    FOR EACH STATEMENT EXECUTE FUNCTION dcs_guard.refuse_change();
END $$;
