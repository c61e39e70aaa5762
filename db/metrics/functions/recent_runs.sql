-- metrics.recent_runs: the newest attempts in metrics.run_log, newest first, for `revops status`
-- (revops_runner may not read run_log itself; it executes entry points only).
-- Grain: one row per run_log row. Input: how many rows (1 .. 1000).
CREATE OR REPLACE FUNCTION metrics.recent_runs(p_limit integer DEFAULT 10)
RETURNS TABLE (
    run_id bigint,
    metric_date date,
    status text,
    trigger text,
    host text,
    started_at timestamptz,
    finished_at timestamptz,
    rows_written jsonb,
    error_text text,
    code_version text
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT
        r.run_id,
        r.metric_date,
        r.status,
        r.trigger,
        r.host,
        r.started_at,
        r.finished_at,
        r.rows_written,
        r.error_text,
        r.code_version
    FROM metrics.run_log AS r
    ORDER BY r.run_id DESC
    LIMIT least(greatest(coalesce(p_limit, 10), 1), 1000);
$$;
COMMENT ON FUNCTION metrics.recent_runs(integer) IS 'The newest run_log rows, newest first.';
