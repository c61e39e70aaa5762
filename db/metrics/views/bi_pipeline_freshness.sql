-- metrics.bi_pipeline_freshness: how current the facts are, as a dashboard tile shows it:
-- metrics.freshness with the threshold, a stale flag and the newest run attempt's outcome.
-- Grain: one row per fact table plus one for run_log (table_name 'run_log': the newest day a
-- run computed successfully, the authoritative freshness; the tile reads that row).
-- Inputs: metrics.freshness, metrics.settings (freshness_max_lag_days), metrics.run_log (the
-- newest attempt's status and end, the same on every row; never its error text, host or
-- code version).
-- is_stale: no successful day yet, or lag_days above freshness_max_lag_days (the rule of
-- `revops status`, exit 3).
-- Why a view: revops_bi may not read run_log, and calls no metrics function.
CREATE OR REPLACE VIEW metrics.bi_pipeline_freshness AS
WITH
threshold AS (
    SELECT (s.setting_value #>> '{}')::integer AS max_lag_days
    FROM metrics.settings AS s
    WHERE s.setting_name = 'freshness_max_lag_days'
),

last_attempt AS (
    SELECT
        r.status AS last_run_status,
        coalesce(r.finished_at, r.started_at) AS last_run_at
    FROM metrics.run_log AS r
    ORDER BY r.run_id DESC
    LIMIT 1
)

SELECT
    f.table_name,
    f.last_metric_date,
    f.last_computed_at,
    f.lag_days,
    t.max_lag_days,
    f.lag_days IS NULL OR f.lag_days > t.max_lag_days AS is_stale,
    la.last_run_status,
    la.last_run_at
FROM metrics.freshness AS f
CROSS JOIN threshold AS t
LEFT JOIN last_attempt AS la
    ON true;

COMMENT ON VIEW metrics.bi_pipeline_freshness IS
'Freshness per fact table and run_log, with threshold, stale flag and the newest run attempt.';
