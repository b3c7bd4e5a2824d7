-- DCS regional event store, schema version 3: the stream index holds one entry per run.
--
-- A run is a stretch of consecutive positions that are consecutive versions of one stream
-- (an append is one run; an ingest orders each stream's events of a batch into runs). Its
-- first row carries the run's length in `run_len`, the others 0, and only first rows are
-- in the stream index, so a batch adds one stream-index entry per stream instead of one
-- per event: the stream index, whose keys land all over the tree, was the largest cost of
-- an ingest. Rows written before this version keep run_len = 1 (each its own run).
--
-- The version of a stream (for optimistic concurrency) is the end of its last run, read
-- from this index under the position lock, for appended and forwarded streams alike.
ALTER TABLE event_store ADD COLUMN run_len int NOT NULL DEFAULT 1 CHECK (run_len >= 0);
CREATE INDEX event_store_stream_runs ON event_store (tenant_id, stream_id, stream_version)
  WHERE run_len > 0;
DROP INDEX event_store_stream;
