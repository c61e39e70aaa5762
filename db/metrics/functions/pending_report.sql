-- metrics.pending_report: for `revops status`: how many captured CRM changes wait to reach the
-- facts, the oldest metric day they touch, whether an ingest is loading, how many computed days
-- were computed under other settings, and when changes were last consumed.
-- Grain: one row as jsonb. Reads the source through the owner's FDW mapping.
CREATE OR REPLACE FUNCTION metrics.pending_report()
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_pending record := metrics.pending_changes();
BEGIN
    RETURN jsonb_build_object(
        'pending_changes', v_pending.changes,
        'oldest_day', CASE WHEN v_pending.first_day > '-infinity' THEN v_pending.first_day END,
        'everything_due', coalesce(v_pending.first_day = '-infinity', false),
        'ingest_running', v_pending.ingest_running,
        'days_under_other_settings', (
            SELECT count(*) FROM metrics.computed_days AS c
            WHERE c.settings_fingerprint IS DISTINCT FROM metrics.settings_fingerprint()
        ),
        'computed_days', (SELECT count(*) FROM metrics.computed_days),
        'consumed_at', (SELECT s.consumed_at FROM metrics.capture_state AS s)
    );
END
$$;
COMMENT ON FUNCTION metrics.pending_report() IS
'Captured changes not yet in the facts, the oldest day they touch, days under other settings.';
