-- metrics.base_from_facts: whether a refresh of the lead facts starting the day after p_day may
-- start from p_day's stored rows (the previous day's totals) instead of a count over the lead
-- state. Only when the ordinary run asks for it (metrics.run_due sets revops.base_from_facts
-- for its transaction) and p_day is a computed day under the current settings, whose lead
-- facts metrics.sync_lead_state keeps equal to the sums of the state. A backfill and verify
-- always count over the state, so they do not build on the rows they are meant to rebuild.
-- Grain: one answer per call.
CREATE OR REPLACE FUNCTION metrics.base_from_facts(p_day date)
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT
        coalesce(current_setting('revops.base_from_facts', true), '') = 'on'
        AND EXISTS (
            SELECT
            FROM metrics.computed_days AS c
            WHERE c.metric_date = p_day AND c.settings_fingerprint = metrics.settings_fingerprint()
        )
        AND NOT EXISTS (
            SELECT
            FROM metrics.lead_stage_snapshot AS s
            WHERE s.metric_date = p_day AND s.created_day_sum IS NULL
        );
$$;
COMMENT ON FUNCTION metrics.base_from_facts(date) IS
'Whether the ordinary run may build the next day''s lead facts on this day''s stored rows.';
