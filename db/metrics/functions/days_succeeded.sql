-- metrics.days_succeeded: the days of p_from_date .. p_to_date that have a successful run in
-- metrics.run_log, for `revops backfill --resume` (which skips them).
-- Grain: one row per day, ascending.
CREATE OR REPLACE FUNCTION metrics.days_succeeded(p_from_date date, p_to_date date)
RETURNS SETOF date
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT DISTINCT r.metric_date
    FROM metrics.run_log AS r
    WHERE r.status = 'succeeded' AND r.metric_date BETWEEN p_from_date AND p_to_date
    ORDER BY 1;
$$;
COMMENT ON FUNCTION metrics.days_succeeded(date, date) IS
'Days of a range with a successful run (backfill --resume skips them).';
