-- DCS regional event store, schema version 2: every text column of the tenant tables
-- compares bytewise (COLLATE "C").
--
-- Identifiers (tenant, branch, stream, idempotency key, ...) are only compared for
-- equality and order inside B-trees, never sorted for people, and under a libc locale such
-- as C.UTF-8 each comparison is a strcoll() call: on the ingest path that made the stream,
-- idempotency-key and stream-metadata indexes the largest cost after the insert itself.
-- The policies name these columns, so they are dropped and made again around the change.
DO $$
DECLARE
  t text;
  c record;
BEGIN
  FOREACH t IN ARRAY ARRAY['event_store', 'idempotency_keys', 'stream_metadata', 'snapshots',
      'saga_instances', 'saga_steps', 'projection_sales_summary', 'projection_inventory',
      'projection_customer_loyalty', 'crdt_state', 'agent_registry', 'audit_log'] LOOP
    EXECUTE format('DROP POLICY tenant_rows ON %I', t);
    EXECUTE format('DROP POLICY branch_rows ON %I', t);
    FOR c IN SELECT column_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = t AND data_type = 'text'
             ORDER BY ordinal_position LOOP
      EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE text COLLATE "C"', t, c.column_name);
    END LOOP;
    EXECUTE format('CREATE POLICY tenant_rows ON %I FOR ALL TO dcs_app
                      USING (tenant_id = dcs_tenant()) WITH CHECK (tenant_id = dcs_tenant())', t);
    EXECUTE format('CREATE POLICY branch_rows ON %I FOR ALL TO dcs_branch
                      USING (tenant_id = dcs_tenant() AND branch_id = dcs_branch())
                      WITH CHECK (tenant_id = dcs_tenant() AND branch_id = dcs_branch())', t);
  END LOOP;
END $$;

-- Every ingest and append moves its streams' versions: leave room on each page so those
-- updates stay heap-only (HOT), without a new primary-key entry per update.
ALTER TABLE stream_metadata SET (fillfactor = 50);
