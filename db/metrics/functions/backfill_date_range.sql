-- metrics.backfill_date_range: recomputes every metric day from p_from_date to p_to_date
-- (inclusive) set-based, in the caller's transaction, with one run_log row per day. Gives
-- exactly the rows of running each day alone (the same refresh_* code computes both).
-- Grain: a day range. The `revops backfill` command calls it in chunks (one transaction each)
-- so a long backfill commits progress and can be resumed.
CREATE OR REPLACE FUNCTION metrics.backfill_date_range(
    p_from_date date,
    p_to_date date,
    p_trigger text DEFAULT 'backfill',
    p_code_version text DEFAULT NULL,
    p_host text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT metrics.run_metrics_range(p_from_date, p_to_date, p_trigger, p_code_version, p_host);
$$;
COMMENT ON FUNCTION metrics.backfill_date_range(date, date, text, text, text) IS
'Recomputes an inclusive day range in all fact tables (set-based) and logs each day.';
