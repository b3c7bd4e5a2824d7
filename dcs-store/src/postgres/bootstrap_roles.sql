-- DCS regional store, one-time bootstrap part 1: the group roles (cluster-wide).
-- Run once per PostgreSQL cluster by a superuser (dcs_store::postgres::bootstrap_roles, or
-- psql -f). Idempotent. The migrations need none of CREATEROLE, CREATEDB or SUPERUSER.
--
--   dcs_owner   NOLOGIN: owns the schema; migrations run as a login that is a member of it
--               (SET ROLE dcs_owner). Cannot create roles, so cannot grant itself
--               pg_execute_server_program (COPY ... TO PROGRAM) on PostgreSQL <= 15.
--   dcs_app     NOLOGIN: the regional service (forwarder ingest, tenant-wide appends);
--               its tenant is the transaction's dcs.tenant_id setting.
--   dcs_branch  NOLOGIN: one branch of one tenant, bound to the login's identity in
--               dcs_logins (the setting alone confines nothing).
-- Logins are made members of these by the operator (see the postgres module doc).
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['dcs_owner', 'dcs_app', 'dcs_branch'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
    -- Also when the role existed (made by a schema-1 migration with more rights).
    EXECUTE format('ALTER ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', r);
  END LOOP;
END $$;
-- The position allocator reaps a transaction that holds the position lock for longer than
-- its limit (a stalled or hostile session): it must see and end other sessions.
GRANT pg_read_all_stats, pg_signal_backend TO dcs_owner;
