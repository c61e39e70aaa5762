-- 0005_create_change_log: change capture in the source database. Every write to a crm table
-- that can move a metric records, in the same transaction, which metric days its old and new
-- row versions touch (triggers in db/source/functions/capture_changes.sql); the metrics
-- database consumes the log up to a transaction horizon (crm.capture_horizon) and recomputes
-- exactly those days on its next run.
--
-- Grain: crm.change_log has one row per statement and distinct affected point (bulk writes
-- are folded: point instants to the start of their UTC day, dates as they are, "every day from
-- here on" to one exact instant per statement); crm.capture_state has one row.
-- Inputs: the statement-level triggers; crm.prune_change_log (bounded history).
-- Why transaction ids instead of the sequence for consuming: a sequence value is taken before
-- its transaction commits, so a reader could pass over a change that commits later. The
-- metrics side reads the log up to the oldest transaction still running in its snapshot
-- (pg_snapshot_xmin): every change below it is final, every change above it is read next time.
CREATE TABLE crm.change_log (
    change_seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xact_id bigint NOT NULL DEFAULT (pg_catalog.pg_current_xact_id()::text::bigint),
    source_table text NOT NULL,
    affected_at timestamptz,
    affected_date date,
    through_today boolean NOT NULL DEFAULT false,
    rep_id text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (affected_at IS NOT NULL OR affected_date IS NOT NULL OR rep_id IS NOT NULL)
);
COMMENT ON TABLE crm.change_log IS
'Captured changes: metric days (or rep names) a write to crm touched, by transaction id.';
COMMENT ON COLUMN crm.change_log.affected_at IS
'through_today: the exact instant from whose business day on every day is touched (-infinity:
every day, after a TRUNCATE); otherwise the start of a UTC day whose business days are touched.';
COMMENT ON COLUMN crm.change_log.affected_date IS 'A calendar date touched (DATE fields).';
COMMENT ON COLUMN crm.change_log.through_today IS
'The change reaches every later day too (cumulative measures: totals, snapshots).';
COMMENT ON COLUMN crm.change_log.rep_id IS 'A rep whose name changed: every day of that rep.';
CREATE INDEX change_log_xact_idx ON crm.change_log (xact_id);

CREATE TABLE crm.capture_state (
    is_singleton boolean PRIMARY KEY DEFAULT true CHECK (is_singleton),
    pruned_through_xact bigint NOT NULL DEFAULT 0,
    pruned_at timestamptz
);
COMMENT ON TABLE crm.capture_state IS
'Change capture bookkeeping: the newest transaction id whose changes were pruned.';
INSERT INTO crm.capture_state DEFAULT VALUES;

-- writers append; only the capture functions (owned by the admin) prune
REVOKE ALL ON crm.change_log, crm.capture_state FROM revops_etl;
GRANT SELECT, INSERT ON crm.change_log TO revops_etl;
GRANT SELECT ON crm.change_log, crm.capture_state TO revops_etl, revops_fdw_reader;
