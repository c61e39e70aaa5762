-- 0004_track_consumed_changes: the metrics side of change capture.
--
-- * metrics.capture_state (one row): the transaction horizon up to which the source's
--   crm.change_log has been consumed (every change below it has reached the facts);
-- * metrics.computed_days (one row per metric day the product maintains): which settings
--   fingerprint (business time zone, qualified statuses) the day's rows were computed under,
--   and when. A change touches only days in here; a day computed under other settings is due.
--   Existing days are carried over with an unknown fingerprint, so the first run after the
--   upgrade recomputes them once under the current settings (an in-place upgrade cannot know
--   which settings an old run used);
-- * run_log gains, per row, the settings fingerprint and what the run that wrote it consumed;
-- * setting ingest_unfinished_minutes (metrics.data_quality: ingest batches left running).
-- Grain: see each table. Runs as the bootstrap admin; ownership goes to revops_owner.
CREATE TABLE metrics.capture_state (
    is_singleton boolean PRIMARY KEY DEFAULT true CHECK (is_singleton),
    consumed_xmin bigint NOT NULL DEFAULT 0,
    consumed_at timestamptz
);
COMMENT ON TABLE metrics.capture_state IS
'Watermark: crm.change_log is consumed below this transaction horizon.';
INSERT INTO metrics.capture_state DEFAULT VALUES;

CREATE TABLE metrics.computed_days (
    metric_date date PRIMARY KEY,
    settings_fingerprint text,
    computed_at timestamptz NOT NULL,
    run_id bigint
);
COMMENT ON TABLE metrics.computed_days IS
'Metric days the facts hold, with the settings fingerprint they were computed under.';
INSERT INTO metrics.computed_days (metric_date, settings_fingerprint, computed_at, run_id)
SELECT r.metric_date, NULL, max(r.finished_at), max(r.run_id)
FROM metrics.run_log AS r
WHERE r.status = 'succeeded'
GROUP BY r.metric_date;

ALTER TABLE metrics.run_log
ADD COLUMN settings_fingerprint text,
ADD COLUMN changes_consumed bigint,
ADD COLUMN changed_from date,
ADD COLUMN changed_to date;
COMMENT ON COLUMN metrics.run_log.changes_consumed IS
'Captured CRM changes the run that wrote this row consumed (NULL: a backfill, which consumes none).';

-- run_metrics_range gained the consumption summary it writes into run_log and the fact tables
-- a change-driven call recomputes (the six-argument form existed only before this release)
DROP FUNCTION IF EXISTS metrics.run_metrics_range(date, date, text, text, text);
DROP FUNCTION IF EXISTS metrics.run_metrics_range(date, date, text, text, text, jsonb);

INSERT INTO metrics.settings (setting_name, setting_value, description)
VALUES (
    'ingest_unfinished_minutes', '60',
    'revops check reports an ingest batch still running after this many minutes.'
)
ON CONFLICT (setting_name) DO NOTHING;

ALTER TABLE metrics.capture_state OWNER TO revops_owner;
ALTER TABLE metrics.computed_days OWNER TO revops_owner;
