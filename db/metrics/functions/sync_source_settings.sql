-- metrics.sync_source_settings: keeps the business time zone the source database sees in step
-- with metrics.settings. The source views (crm.activity_days, crm.lead_days, ...) compute local
-- business days next to the data from the session setting revops.business_timezone, which
-- every postgres_fdw connection receives through the foreign server option
-- `options '-c revops.business_timezone=<zone>'`. When the setting changed, this rewrites the
-- option (postgres_fdw then opens fresh connections) and returns the zone.
-- Grain: one call per metric computation, before any remote access in the transaction.
-- Why SECURITY DEFINER: only the server's owner (the bootstrap admin) may alter it; the function
-- writes nothing but a validated zone name into that one option.
CREATE OR REPLACE FUNCTION metrics.sync_source_settings()
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tz text := metrics.business_timezone();
    v_wanted text;
    v_current text;
    v_has_option boolean;
BEGIN
    v_wanted := '-c revops.business_timezone=' || coalesce(v_tz, '');
    SELECT o.option_value INTO v_current
    FROM pg_catalog.pg_foreign_server AS s
    CROSS JOIN LATERAL pg_catalog.pg_options_to_table(s.srvoptions) AS o
    WHERE s.srvname = 'revops_source' AND o.option_name = 'options';
    v_has_option := FOUND;
    IF v_current IS DISTINCT FROM v_wanted THEN
        IF v_tz IS NULL
            OR v_tz !~ '^[A-Za-z0-9_/+-]+$'
            OR NOT EXISTS (SELECT FROM pg_catalog.pg_timezone_names AS z WHERE z.name = v_tz)
        THEN
            RAISE EXCEPTION 'business_timezone "%" in metrics.settings is not a known time zone', v_tz
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        EXECUTE format(
            'ALTER SERVER revops_source OPTIONS (%s options %L)',
            CASE WHEN v_has_option THEN 'SET' ELSE 'ADD' END,
            v_wanted
        );
    END IF;
    RETURN v_tz;
END
$$;
COMMENT ON FUNCTION metrics.sync_source_settings() IS
'Passes the business time zone to the source database sessions (foreign server option).';
