-- metrics.run_daily_metrics: deletes and recomputes one metric day in all four fact tables in
-- one transaction and logs the attempt to metrics.run_log. Idempotent; two callers for the same
-- day serialise on the metrics lock (the second waits, then recomputes the same rows; both
-- attempts are logged). Returns a jsonb summary with "status".
-- Grain: one metric day. Inputs: see metrics.run_metrics_range.
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
    SELECT metrics.run_metrics_range(p_metric_date, p_metric_date, p_trigger, p_code_version, p_host);
$$;
COMMENT ON FUNCTION metrics.run_daily_metrics(date, text, text, text) IS
'Recomputes one metric day in all fact tables (one transaction) and logs it to run_log.';
