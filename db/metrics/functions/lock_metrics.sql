-- metrics.lock_metrics: serialises every writer of the fact tables (daily runs, backfills,
-- direct refresh_* calls) with one transaction-scoped advisory lock. A second caller waits
-- for the first to commit and then recomputes from committed data, so overlapping runs of the
-- systemd timer and GitHub Actions never leave duplicate or missing rows. One key for all days
-- (rather than one per day) keeps a long backfill from filling the shared lock table.
CREATE OR REPLACE FUNCTION metrics.lock_metrics()
RETURNS void
LANGUAGE sql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_advisory_xact_lock(7311002);
$$;
COMMENT ON FUNCTION metrics.lock_metrics() IS 'Waits for the metrics writer lock (transaction scope).';
