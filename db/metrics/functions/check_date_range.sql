-- metrics.check_date_range: the argument check shared by every entry point. Raises a clear
-- error (SQLSTATE 22023 invalid_parameter_value) for NULL dates, from > to, or a day after
-- today in the business time zone; called before anything is changed.
CREATE OR REPLACE FUNCTION metrics.check_date_range(p_from_date date, p_to_date date)
RETURNS void
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_today date := metrics.business_today();
BEGIN
    IF p_from_date IS NULL OR p_to_date IS NULL THEN
        RAISE EXCEPTION 'metric dates must not be NULL (got % to %)', p_from_date, p_to_date
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_from_date > p_to_date THEN
        RAISE EXCEPTION 'from date % is after to date %', p_from_date, p_to_date
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_to_date > v_today THEN
        RAISE EXCEPTION 'metric date % is after today (% in %)', p_to_date, v_today,
            metrics.business_timezone()
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_from_date < date '1970-01-01' THEN
        RAISE EXCEPTION 'metric date % is before 1970-01-01', p_from_date
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;
COMMENT ON FUNCTION metrics.check_date_range(date, date) IS
'Raises invalid_parameter_value for NULL, reversed or future metric dates.';
