-- metrics.source_timezone: the business time zone, after making sure the source database
-- computes its local days in that same zone (metrics.sync_source_settings, then read back
-- through crm_remote.business_clock). Raises instead of computing with mismatched days, which
-- can only happen when the setting changed earlier in the same transaction.
-- Grain: one call per refresh function.
CREATE OR REPLACE FUNCTION metrics.source_timezone()
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tz text := metrics.sync_source_settings();
    v_remote text;
BEGIN
    SELECT c.business_timezone INTO v_remote FROM crm_remote.business_clock AS c;
    IF v_remote IS DISTINCT FROM v_tz THEN
        RAISE EXCEPTION 'source days are in "%" but business_timezone is "%": run again',
            coalesce(v_remote, '(unset)'), v_tz
            USING
                ERRCODE = 'object_not_in_prerequisite_state',
                HINT = 'The setting changed earlier in this transaction; start a new one.';
    END IF;
    RETURN v_tz;
END
$$;
COMMENT ON FUNCTION metrics.source_timezone() IS
'Business time zone, checked to be the one the source views compute local days in.';
