-- 0006_create_data_quality_history: every `revops check` (metrics.record_data_quality) keeps
-- its findings, so a dashboard or an operator sees when a problem started and how it moved.
--
-- Grain: one row per check and recording. Inputs: metrics.record_data_quality.
-- Why a separate table and not run_log: checks run on their own schedule (after the daily run,
-- by hand), and a finding belongs to the data, not to one computed day. Samples are Ids, days
-- or batch numbers, never file paths, so revops_bi may read it.
CREATE TABLE metrics.data_quality_history (
    finding_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checked_at timestamptz NOT NULL,
    check_name text NOT NULL,
    severity text NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
    affected_count bigint NOT NULL,
    sample_ids text [] NOT NULL DEFAULT '{}',
    last_run_id bigint,
    trigger text NOT NULL CHECK (trigger IN ('systemd', 'github', 'manual', 'backfill'))
);
COMMENT ON TABLE metrics.data_quality_history IS
'Findings of every recorded data-quality check: one row per check and recording.';
CREATE INDEX data_quality_history_checked_at_idx ON metrics.data_quality_history (checked_at);

INSERT INTO metrics.settings (setting_name, setting_value, description)
VALUES (
    'reconcile_days', '7',
    'revops check compares the facts of this many computed days ending yesterday with the source.'
)
ON CONFLICT (setting_name) DO NOTHING;

ALTER TABLE metrics.data_quality_history OWNER TO revops_owner;
