-- metrics.source_timezone: the business time zone, after checking that the source database
-- computes its local days in that same zone. The source views read the zone from the session
-- setting revops.business_timezone, which every postgres_fdw connection receives through the
-- foreign server option `options '-c revops.business_timezone=<zone>'`; crm_remote.business_clock
-- reads it back. Only `revops bootstrap` (as the admin, who owns the server) sets that option:
-- runs never alter the server. Raises instead of computing with mismatched days.
-- Grain: one call per refresh function.
CREATE OR REPLACE FUNCTION metrics.source_timezone()
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tz text := metrics.business_timezone();
    v_remote text;
BEGIN
    SELECT c.business_timezone INTO v_remote FROM crm_remote.business_clock AS c;
    IF v_remote IS DISTINCT FROM v_tz THEN
        RAISE EXCEPTION 'source days are in "%" but business_timezone is "%"',
            coalesce(v_remote, '(unset)'), v_tz
            USING
                ERRCODE = 'object_not_in_prerequisite_state',
                HINT = 'Change the zone with `revops bootstrap --timezone ZONE` (it also sets '
                    'the foreign server option the source reads); if it was just changed, '
                    'run again in a new transaction.';
    END IF;
    RETURN v_tz;
END
$$;
COMMENT ON FUNCTION metrics.source_timezone() IS
'Business time zone, checked to be the one the source views compute local days in.';
