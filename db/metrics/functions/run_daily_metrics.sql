-- metrics.run_daily_metrics: recomputes one metric day in all four fact tables, together with
-- every day the CRM changes captured since the last run touched (metrics.run_due), in one
-- transaction, logged to metrics.run_log. Idempotent; two callers for the same day serialise
-- on the metrics lock (the second waits, then recomputes the same rows; both attempts are
-- logged). Returns a jsonb summary with "status".
-- Grain: one metric day (plus the days pending changes touch). Inputs: see metrics.run_due.
CREATE OR REPLACE FUNCTION metrics.run_daily_metrics(
    p_metric_date date,
    p_trigger text DEFAULT 'manual',
    p_code_version text DEFAULT NULL,
    p_host text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT metrics.run_due(p_trigger, p_code_version, p_host, ARRAY[p_metric_date]);
$$;
COMMENT ON FUNCTION metrics.run_daily_metrics(date, text, text, text) IS
'Recomputes one metric day, and the days pending CRM changes touch, and logs them to run_log.';
