-- metrics.source_timezone: the business time zone, after checking that the source database
-- computes its local days in that same zone. The source views read the zone from the session
-- setting revops.business_timezone, which every postgres_fdw connection receives through the
-- foreign server option `options '-c revops.business_timezone=<zone>'`; crm_remote.business_clock
-- reads it back. Only `revops bootstrap` (as the admin, who owns the server) sets that option:
-- runs never alter the server. Raises instead of computing with mismatched days.
-- Grain: one call per refresh function; the source is asked once per transaction and zone (the
-- answer is kept in the transaction-local setting revops.source_timezone with the zone and the
-- transaction's start: a foreign server's options reach only connections opened after the
-- change, so it cannot change within a transaction; a changed business_timezone setting asks
-- again, and a value left by a session-level SET never matches a later transaction).
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
    IF current_setting('revops.source_timezone', true) = v_tz || ' checked at ' || now() THEN
        RETURN v_tz;
    END IF;
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
    PERFORM set_config('revops.source_timezone', v_tz || ' checked at ' || now(), true);
    RETURN v_tz;
END
$$;
COMMENT ON FUNCTION metrics.source_timezone() IS
'Business time zone, checked to be the one the source views compute local days in.';
