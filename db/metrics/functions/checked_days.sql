-- metrics.checked_days: the metric days p_from_date .. p_to_date as an array, after
-- metrics.check_date_range (NULL, reversed or future dates raise before anything changes).
-- Grain: one array. Why: the range entry points (refresh_<table>(from, to)) call the set-based
-- refresh functions, which take any set of days.
CREATE OR REPLACE FUNCTION metrics.checked_days(p_from_date date, p_to_date date)
RETURNS date []
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM metrics.check_date_range(p_from_date, p_to_date);
    RETURN ARRAY(
        SELECT d.metric_day::date
        FROM generate_series(p_from_date, p_to_date, interval '1 day') AS d (metric_day)
    );
END
$$;
COMMENT ON FUNCTION metrics.checked_days(date, date) IS
'The days of a checked metric date range, as an array.';
