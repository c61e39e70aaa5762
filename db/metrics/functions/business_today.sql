-- metrics.business_today: today's date in the business time zone (transaction start time).
CREATE OR REPLACE FUNCTION metrics.business_today()
RETURNS date
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (now() AT TIME ZONE metrics.business_timezone())::date;
$$;
COMMENT ON FUNCTION metrics.business_today() IS 'Today in the business time zone.';
