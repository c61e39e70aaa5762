-- metrics.days_due: the metric days a scheduled run should compute, ascending: yesterday and
-- the p_lookback_days days before it (late-arriving data), plus any day within the last
-- p_horizon_days days ending yesterday that was never computed (metrics.computed_days).
-- Defaults come from the settings lookback_days and missing_day_horizon_days.
-- Grain: one row per day.
CREATE OR REPLACE FUNCTION metrics.days_due(
    p_lookback_days integer DEFAULT NULL,
    p_horizon_days integer DEFAULT NULL
)
RETURNS SETOF date
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_yesterday date := metrics.business_today() - 1;
    v_lookback integer := coalesce(p_lookback_days, (metrics.setting('lookback_days') #>> '{}')::integer);
    v_horizon integer := coalesce(
        p_horizon_days, (metrics.setting('missing_day_horizon_days') #>> '{}')::integer
    );
BEGIN
    IF v_lookback < 0 OR v_horizon < 0 THEN
        RAISE EXCEPTION 'lookback and horizon must not be negative (got %, %)', v_lookback, v_horizon
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT d.metric_day::date
    FROM generate_series(
        v_yesterday - greatest(v_lookback, v_horizon - 1), v_yesterday, interval '1 day'
    ) AS d (metric_day)
    WHERE
        d.metric_day::date >= v_yesterday - v_lookback
        OR NOT EXISTS (
            SELECT FROM metrics.computed_days AS c
            WHERE c.metric_date = d.metric_day::date
        )
    ORDER BY 1;
END
$$;
COMMENT ON FUNCTION metrics.days_due(integer, integer) IS
'Days a scheduled run computes: yesterday plus lookback, and recent days never computed.';
