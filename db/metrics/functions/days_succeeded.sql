-- metrics.days_succeeded: the days of p_from_date .. p_to_date the facts hold, computed under
-- the current settings (metrics.computed_days), for `revops backfill --resume` (which skips
-- them: a day computed under another time zone or other qualified statuses is done again).
-- Grain: one row per day, ascending.
CREATE OR REPLACE FUNCTION metrics.days_succeeded(p_from_date date, p_to_date date)
RETURNS SETOF date
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.metric_date
    FROM metrics.computed_days AS c
    WHERE
        c.metric_date BETWEEN p_from_date AND p_to_date
        AND c.settings_fingerprint = metrics.settings_fingerprint()
    ORDER BY 1;
$$;
COMMENT ON FUNCTION metrics.days_succeeded(date, date) IS
'Days of a range with a successful run (backfill --resume skips them).';
