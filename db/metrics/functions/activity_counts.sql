-- metrics.activity_counts: the activities of a set of metric days, counted in the source per
-- activity day, owner and category (crm.activity_days decides both: see
-- metrics.refresh_rep_daily_activity_days).
-- Grain: one row per (metric_date, owner_id, category) with at least one activity, on the
-- asked days only.
-- Inputs: crm_remote.activity_days; p_timezone, the business time zone already checked
-- against the source (metrics.begin_refresh).
-- Why this filter: an activity's day comes from activity_date, else activity_at, else
-- created_at, so the remote filter is the OR of ranges on those three indexed columns per
-- island of days (metrics.day_filter: a superset with good row estimates, so the planner ships
-- the aggregate); the counts of days outside the set are dropped after.
CREATE OR REPLACE FUNCTION metrics.activity_counts(p_days date [], p_timezone text)
RETURNS TABLE (metric_date date, owner_id text, category integer, activity_count bigint)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
    -- OFFSET 0 keeps the day test out of the remote query: there it would compute every
    -- row's activity day a second time (its time zone arithmetic), here it tests the counts
    RETURN QUERY EXECUTE format(
        'SELECT x.activity_day, x.owner_id, x.category, x.activity_count FROM ('
        'SELECT d.activity_day, d.owner_id, d.category, count(*) AS activity_count'
        ' FROM crm_remote.activity_days AS d WHERE %s GROUP BY 1, 2, 3 OFFSET 0'
        ') AS x WHERE x.activity_day = ANY($1)',
        metrics.day_filter(
            p_days, p_timezone, ARRAY['d.activity_at', 'd.created_at'], ARRAY['d.activity_date']
        )
    ) USING p_days;
END
$$;
COMMENT ON FUNCTION metrics.activity_counts(date [], text) IS
'Activities of a set of days, counted in the source per day, owner and category.';
