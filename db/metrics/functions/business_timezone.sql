-- metrics.business_timezone: the IANA zone whose calendar days are metric days (setting
-- business_timezone, default UTC). Every day window [D 00:00, D+1 00:00) is local to it.
CREATE OR REPLACE FUNCTION metrics.business_timezone()
RETURNS text
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT metrics.setting('business_timezone') #>> '{}';
$$;
COMMENT ON FUNCTION metrics.business_timezone() IS 'The business time zone (setting business_timezone).';
