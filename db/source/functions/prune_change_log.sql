-- crm.prune_change_log: drops captured changes older than p_keep_days (a bounded history for
-- audit) and remembers the newest transaction id it dropped in crm.capture_state, so the
-- metrics database can tell when changes it never consumed are gone (it then recomputes every
-- day it keeps: exact, if slower). Called by `revops ingest` after each invocation.
-- Grain: one call. Returns the number of rows dropped.
-- Why SECURITY DEFINER: writers may append to the log but not delete from it.
CREATE OR REPLACE FUNCTION crm.prune_change_log(p_keep_days integer DEFAULT 35)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_through bigint;
    v_rows bigint;
BEGIN
    IF p_keep_days IS NULL OR p_keep_days < 1 THEN
        RAISE EXCEPTION 'keep at least one day of captured changes (got %)', p_keep_days
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    WITH dropped AS (
        DELETE FROM crm.change_log AS c
        WHERE c.recorded_at < now() - make_interval(days => p_keep_days)
        RETURNING c.xact_id
    )
    SELECT max(d.xact_id), count(*) INTO v_through, v_rows FROM dropped AS d;
    IF v_rows > 0 THEN
        UPDATE crm.capture_state
        SET
            pruned_through_xact = greatest(pruned_through_xact, v_through),
            pruned_at = now();
    END IF;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION crm.prune_change_log(integer) IS
'Drops captured changes older than p_keep_days; records how far it pruned.';
REVOKE ALL ON FUNCTION crm.prune_change_log(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.prune_change_log(integer) TO revops_etl;
