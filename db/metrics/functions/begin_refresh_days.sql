-- metrics.begin_refresh_days: metrics.begin_refresh for a set of days (any gaps): no NULL day,
-- the span from the first to the last day checked, the metrics lock taken, the source's time
-- zone checked; returns the business time zone.
-- Grain: one call per set-based refresh (the caller returns early for an empty set).
CREATE OR REPLACE FUNCTION metrics.begin_refresh_days(p_days date [])
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tz text;
BEGIN
    IF array_position(p_days, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'metric dates must not be NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT w.business_timezone
    INTO v_tz
    FROM metrics.begin_refresh(
        (SELECT min(d) FROM unnest(p_days) AS d), (SELECT max(d) FROM unnest(p_days) AS d)
    ) AS w;
    RETURN v_tz;
END
$$;
COMMENT ON FUNCTION metrics.begin_refresh_days(date []) IS
'begin_refresh for a set of days: checks, lock, source time zone; returns the zone.';
