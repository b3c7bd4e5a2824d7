-- DCS regional event store, schema version 1.
-- Applied by dcs_store::postgres::migrate as the database owner, in one transaction.

-- The group roles the application's login roles are members of:
--   dcs_app    sees and writes its tenant (SET LOCAL dcs.tenant_id each transaction);
--   dcs_branch sees and writes only its branch of its tenant.
-- They are made by the one-time superuser bootstrap (bootstrap_roles.sql), not here: the
-- owner that migrates needs no CREATEROLE.
DO $$ BEGIN
  IF (SELECT count(*) FROM pg_roles WHERE rolname IN ('dcs_owner', 'dcs_app', 'dcs_branch')) < 3 THEN
    RAISE EXCEPTION 'the roles dcs_owner, dcs_app and dcs_branch do not exist: run the superuser bootstrap (dcs_store::postgres::bootstrap_roles) first'
      USING ERRCODE = 'undefined_object';
  END IF;
END $$;

CREATE FUNCTION dcs_tenant() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('dcs.tenant_id', true), '') $$;
CREATE FUNCTION dcs_branch() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('dcs.branch_id', true), '') $$;

-- Global positions: one counter row, locked by every appending transaction until it
-- commits, so positions are handed out in commit order and without gaps.
CREATE TABLE event_position (id int PRIMARY KEY CHECK (id = 1), last bigint NOT NULL);
INSERT INTO event_position VALUES (1, 0);

CREATE TABLE event_store (
    event_id        uuid     NOT NULL,
    position        bigint   NOT NULL,
    tenant_id       text     NOT NULL,
    branch_id       text     NOT NULL,
    stream_id       text     NOT NULL,
    stream_version  bigint   NOT NULL,
    event_type      smallint NOT NULL,
    amount_minor    bigint   NOT NULL,
    currency        char(3)  NOT NULL,
    hlc_time        bigint   NOT NULL,
    idempotency_key text     NOT NULL,
    event           bytea    NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id)
) PARTITION BY HASH (event_id);
CREATE TABLE event_store_p0 PARTITION OF event_store FOR VALUES WITH (MODULUS 8, REMAINDER 0);
CREATE TABLE event_store_p1 PARTITION OF event_store FOR VALUES WITH (MODULUS 8, REMAINDER 1);
CREATE TABLE event_store_p2 PARTITION OF event_store FOR VALUES WITH (MODULUS 8, REMAINDER 2);
CREATE TABLE event_store_p3 PARTITION OF event_store FOR VALUES WITH (MODULUS 8, REMAINDER 3);
CREATE TABLE event_store_p4 PARTITION OF event_store FOR VALUES WITH (MODULUS 8, REMAINDER 4);
CREATE TABLE event_store_p5 PARTITION OF event_store FOR VALUES WITH (MODULUS 8, REMAINDER 5);
CREATE TABLE event_store_p6 PARTITION OF event_store FOR VALUES WITH (MODULUS 8, REMAINDER 6);
CREATE TABLE event_store_p7 PARTITION OF event_store FOR VALUES WITH (MODULUS 8, REMAINDER 7);
CREATE INDEX event_store_position ON event_store (position);
CREATE INDEX event_store_stream ON event_store (tenant_id, stream_id, stream_version);

-- Append-only, enforced by the database for every role.
CREATE FUNCTION dcs_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'event_store is append-only: % is refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER event_store_append_only BEFORE UPDATE OR DELETE ON event_store
  FOR EACH ROW EXECUTE FUNCTION dcs_refuse_change();
CREATE TRIGGER event_store_no_truncate BEFORE TRUNCATE ON event_store
  FOR EACH STATEMENT EXECUTE FUNCTION dcs_refuse_change();

-- Idempotency keys of every append: a retry finds its original result here.
CREATE TABLE idempotency_keys (
    tenant_id text NOT NULL, key text NOT NULL, branch_id text NOT NULL,
    first_position bigint NOT NULL, last_position bigint NOT NULL, stream_version bigint NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE stream_metadata (
    tenant_id text NOT NULL, stream_id text NOT NULL, branch_id text NOT NULL,
    version bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, stream_id)
);
CREATE TABLE snapshots (
    tenant_id text NOT NULL, stream_id text NOT NULL, branch_id text NOT NULL,
    stream_version bigint NOT NULL, state bytea NOT NULL,
    PRIMARY KEY (tenant_id, stream_id)
);
CREATE TABLE saga_instances (
    tenant_id text NOT NULL, saga_id text NOT NULL, branch_id text NOT NULL,
    saga_type text NOT NULL, status text NOT NULL, data bytea NOT NULL,
    PRIMARY KEY (tenant_id, saga_id)
);
CREATE TABLE saga_steps (
    tenant_id text NOT NULL, saga_id text NOT NULL, branch_id text NOT NULL, step_no int NOT NULL,
    name text NOT NULL, status text NOT NULL, data bytea NOT NULL,
    PRIMARY KEY (tenant_id, saga_id, step_no)
);
CREATE TABLE projection_sales_summary (
    tenant_id text NOT NULL, branch_id text NOT NULL, day int NOT NULL,
    currency char(3) NOT NULL, exponent smallint NOT NULL,
    sales_count bigint NOT NULL, refund_count bigint NOT NULL, gross bigint NOT NULL,
    discounts bigint NOT NULL, refunds bigint NOT NULL, tax bigint NOT NULL, net bigint NOT NULL,
    PRIMARY KEY (tenant_id, branch_id, day, currency)
);
CREATE TABLE projection_inventory (
    tenant_id text NOT NULL, branch_id text NOT NULL, sku text NOT NULL,
    received bigint NOT NULL, sold bigint NOT NULL, transferred_out bigint NOT NULL,
    transferred_in bigint NOT NULL, adjusted bigint NOT NULL,
    PRIMARY KEY (tenant_id, branch_id, sku)
);
CREATE TABLE projection_customer_loyalty (
    tenant_id text NOT NULL, customer_id text NOT NULL, branch_id text NOT NULL DEFAULT '',
    purchases bigint NOT NULL, net_spend bigint NOT NULL,
    PRIMARY KEY (tenant_id, customer_id)
);
CREATE TABLE crdt_state (
    tenant_id text NOT NULL, node_id text NOT NULL, name text NOT NULL, branch_id text NOT NULL,
    state bytea NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, node_id, name)
);
CREATE TABLE agent_registry (
    tenant_id text NOT NULL, agent_id text NOT NULL, branch_id text NOT NULL,
    tier text NOT NULL, address text NOT NULL, last_seen timestamptz, status text NOT NULL,
    PRIMARY KEY (tenant_id, agent_id)
);
CREATE TABLE audit_log (
    tenant_id text NOT NULL, branch_id text NOT NULL, at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL, action text NOT NULL, detail text NOT NULL
) PARTITION BY RANGE (at);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, at);

-- Creates the monthly audit_log partitions from this month to `months_ahead` months on.
CREATE FUNCTION dcs_ensure_audit_partitions(months_ahead int) RETURNS int LANGUAGE plpgsql AS $$
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
      EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
      made := made + 1;
    END IF;
    m := (m + interval '1 month')::date;
  END LOOP;
  RETURN made;
END $$;
SELECT dcs_ensure_audit_partitions(3);

-- Row-level security on every tenant table, forced even for the owner.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['event_store', 'idempotency_keys', 'stream_metadata', 'snapshots',
      'saga_instances', 'saga_steps', 'projection_sales_summary', 'projection_inventory',
      'projection_customer_loyalty', 'crdt_state', 'agent_registry', 'audit_log'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_rows ON %I FOR ALL TO dcs_app
                      USING (tenant_id = dcs_tenant()) WITH CHECK (tenant_id = dcs_tenant())', t);
    EXECUTE format('CREATE POLICY branch_rows ON %I FOR ALL TO dcs_branch
                      USING (tenant_id = dcs_tenant() AND branch_id = dcs_branch())
                      WITH CHECK (tenant_id = dcs_tenant() AND branch_id = dcs_branch())', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO dcs_app, dcs_branch', t);
  END LOOP;
END $$;
-- The event log: read and append only, whatever the triggers.
REVOKE UPDATE, DELETE ON event_store FROM dcs_app, dcs_branch;
GRANT SELECT, UPDATE ON event_position TO dcs_app, dcs_branch;
GRANT EXECUTE ON FUNCTION dcs_tenant(), dcs_branch() TO dcs_app, dcs_branch;
