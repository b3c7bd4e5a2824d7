-- DCS regional event store, schema version 5: the regional forwarder's cursor, fenced by
-- Raft term.
--
-- The Raft leader of a region forwards the region's events (numbered 1, 2, 3, ... by the
-- region's log) to this store. Its resume point is kept here, moved in the same
-- transaction as the events it forwards, and a deposed leader that is still forwarding is
-- refused: a cursor's term only grows, and a forward under an older term fails before it
-- writes. Errors of dcs_advance_forward_cursor (custom SQLSTATEs, class DC):
--   DC001  stale term: the cursor's term is newer than the caller's; a newer leader
--          forwards this region, and the caller must stop forwarding.
--   DC002  the cursor moved: it is not at p_from (an absent cursor is at 0); the caller
--          must re-read it (dcs_forward_cursor) and resume from there.
--   DC003  an empty range: p_to must be greater than p_from.
-- Null, empty, over-long or negative arguments are invalid_parameter_value (22023); a
-- wait of more than 5 seconds for another forwarder's row lock is lock_not_available.

CREATE TABLE forward_cursor (
  region text COLLATE "C" PRIMARY KEY CHECK (length(region) BETWEEN 1 AND 200),
  position bigint NOT NULL CHECK (position >= 0),
  term bigint NOT NULL CHECK (term >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Nobody but the owner (the functions below) reads or writes it, and the owner only
-- forwards: a cursor's position grows with every change and its term never shrinks. A
-- cursor is never deleted (a region whose log starts again needs a superuser, who can
-- disable the trigger).
REVOKE ALL ON forward_cursor FROM PUBLIC, dcs_app, dcs_branch;
CREATE FUNCTION dcs_cursor_forward() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  IF NEW.region <> OLD.region OR NEW.position <= OLD.position OR NEW.term < OLD.term THEN
    RAISE EXCEPTION 'forward_cursor moves only forward (position up, term never down), through dcs_advance_forward_cursor'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;

-- Moves the region's cursor from p_from to p_to under Raft term p_term, or raises (see
-- above). The cursor's row is locked until the caller's commit, so two forwarders of one
-- region take turns, and the second finds the cursor moved. Call it first in the
-- transaction that writes the events p_from + 1 to p_to, so that a refused forwarder
-- writes nothing.
CREATE FUNCTION dcs_advance_forward_cursor(p_region text, p_from bigint, p_to bigint, p_term bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  at_position bigint;
  at_term bigint;
BEGIN
  IF p_region IS NULL OR length(p_region) NOT BETWEEN 1 AND 200 THEN
    RAISE EXCEPTION 'a region is 1 to 200 characters' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_from IS NULL OR p_to IS NULL OR p_term IS NULL OR p_from < 0 OR p_term < 0 THEN
    RAISE EXCEPTION 'from, to and term are not null and not negative (from %, to %, term %)',
      p_from, p_to, p_term USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_to <= p_from THEN
    RAISE EXCEPTION 'a forward of region % moves its cursor forward: to (%) must be greater than from (%)',
      p_region, p_to, p_from USING ERRCODE = 'DC003';
  END IF;
  SELECT c.position, c.term INTO at_position, at_term
    FROM forward_cursor c WHERE c.region = p_region FOR UPDATE;
  IF NOT FOUND THEN
    -- The region's first forward: its cursor starts at 0. A forwarder that inserted it
    -- meanwhile is waited for (the key's lock); its row is then locked as it left it.
    INSERT INTO forward_cursor (region, position, term) VALUES (p_region, 0, p_term)
      ON CONFLICT (region) DO NOTHING;
    SELECT c.position, c.term INTO STRICT at_position, at_term
      FROM forward_cursor c WHERE c.region = p_region FOR UPDATE;
  END IF;
  IF at_term > p_term THEN
    RAISE EXCEPTION 'region % is forwarded under term %, newer than term %: a newer leader forwards it',
      p_region, at_term, p_term USING ERRCODE = 'DC001';
  END IF;
  IF at_position <> p_from THEN
    RAISE EXCEPTION 'the forward cursor of region % is at %, not %: re-read it and resume from it',
      p_region, at_position, p_from USING ERRCODE = 'DC002';
  END IF;
  UPDATE forward_cursor SET position = p_to, term = p_term, updated_at = now()
    WHERE region = p_region;
END $$;

-- The region's cursor: no row before its first forward.
CREATE FUNCTION dcs_forward_cursor(p_region text) RETURNS TABLE ("position" bigint, term bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT c.position, c.term FROM forward_cursor c WHERE c.region = p_region
$$;

REVOKE ALL ON FUNCTION dcs_advance_forward_cursor(text, bigint, bigint, bigint),
  dcs_forward_cursor(text), dcs_cursor_forward() FROM PUBLIC;
-- The regional service forwards; a branch login neither reads nor moves a cursor.
GRANT EXECUTE ON FUNCTION dcs_advance_forward_cursor(text, bigint, bigint, bigint),
  dcs_forward_cursor(text) TO dcs_app;

-- Sealed like the position counter: row-level security forced, with a policy for the
-- owner only (whom the functions above run as); the forward-only trigger for updates, the
-- append-only one for deletes, no TRUNCATE. The dcs_no_truncate trigger marks the table
-- sealed for the bootstrap's event triggers, which then keep its dcs_* triggers enabled,
-- its row-level security forced and refuse rewriting it; dropping a dcs_* trigger, policy
-- or function is refused too.
ALTER TABLE forward_cursor ENABLE ROW LEVEL SECURITY;
ALTER TABLE forward_cursor FORCE ROW LEVEL SECURITY;
CREATE POLICY dcs_owner_only ON forward_cursor FOR ALL TO dcs_owner USING (true) WITH CHECK (true);
CREATE TRIGGER dcs_forward_only BEFORE UPDATE ON forward_cursor
  FOR EACH ROW EXECUTE FUNCTION dcs_cursor_forward();
CREATE TRIGGER dcs_append_only BEFORE DELETE ON forward_cursor
  FOR EACH ROW EXECUTE FUNCTION dcs_guard.refuse_change();
CREATE TRIGGER dcs_no_truncate BEFORE TRUNCATE ON forward_cursor
  FOR EACH STATEMENT EXECUTE FUNCTION dcs_guard.refuse_change();
