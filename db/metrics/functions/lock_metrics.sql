-- metrics.lock_metrics: serialises every writer of the fact tables (daily runs, backfills,
-- direct refresh_* calls) with one transaction-scoped advisory lock. A second caller waits
-- for the first to commit and then recomputes from committed data, so overlapping runs of the
-- systemd timer and GitHub Actions never leave duplicate or missing rows. One key for all days
-- (rather than one per day) keeps a long backfill from filling the shared lock table.
-- The wait is bounded (setting lock_wait_seconds, or p_wait_seconds): a session that holds the
-- lock in a forgotten open transaction must not block every later run until a timer kills it.
-- Returns false when the lock could not be taken in time (the caller decides: run_metrics_range
-- logs the days as skipped, a direct refresh_* call raises lock_not_available).
-- Grain: one call per writing transaction (taking it again in the same one returns at once).
CREATE OR REPLACE FUNCTION metrics.lock_metrics(p_wait_seconds numeric DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_wait numeric := coalesce(
        p_wait_seconds, (metrics.setting('lock_wait_seconds') #>> '{}')::numeric
    );
    v_previous text := current_setting('lock_timeout');
BEGIN
    IF pg_try_advisory_xact_lock(7311002) THEN
        RETURN true;
    END IF;
    -- lock_timeout bounds the wait of the blocking call (0 would mean "for ever": use 1 ms);
    -- the lock taken inside this block stays until the end of the whole transaction
    PERFORM set_config('lock_timeout', greatest(1, round(v_wait * 1000))::bigint::text, true);
    BEGIN
        PERFORM pg_advisory_xact_lock(7311002);
    EXCEPTION WHEN lock_not_available THEN
        PERFORM set_config('lock_timeout', v_previous, true);
        RETURN false;
    END;
    PERFORM set_config('lock_timeout', v_previous, true);
    RETURN true;
END
$$;
COMMENT ON FUNCTION metrics.lock_metrics(numeric) IS
'Takes the metrics writer lock (transaction scope), waiting at most lock_wait_seconds.';
