-- metrics.freshness_report: the rows of the view metrics.freshness, for `revops status` run as
-- revops_runner (which executes entry points only and reads no view or table itself).
-- Grain: one row per fact table plus one for run_log.
CREATE OR REPLACE FUNCTION metrics.freshness_report()
RETURNS TABLE (
    table_name text,
    last_metric_date date,
    last_computed_at timestamptz,
    lag_days integer
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT f.table_name, f.last_metric_date, f.last_computed_at, f.lag_days
    FROM metrics.freshness AS f
    ORDER BY f.table_name;
$$;
COMMENT ON FUNCTION metrics.freshness_report() IS 'The metrics.freshness rows (for revops status).';
