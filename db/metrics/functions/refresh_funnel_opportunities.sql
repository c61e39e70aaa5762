-- metrics.refresh_funnel_opportunities: recounts daily_lead_funnel.opportunities_created on a
-- set of computed metric days (any gaps), set-based in one pass, leaving the lead columns
-- (total_leads_to_date, new_leads, sqls) as they are.
-- Grain: one row per metric_date and lead_source, as metrics.refresh_daily_lead_funnel.
-- Inputs: metrics.created_opportunities (per created day and funnel lead source, counted in
-- the source); the stored funnel rows of those days.
-- Why only one column: metrics.run_due calls it for the days an opportunity change touched
-- (crm.change_log via metrics.pending_changes). The lead columns of a computed day are kept
-- exact by metrics.sync_lead_state, so an opportunity change moves opportunities_created
-- alone: a row gains or changes its count, a source that lost its last opportunity of the day
-- gets 0, and a row left with nothing (no lead to date, no SQL, no opportunity) goes, as a full
-- refresh would leave it out. A row missing before holds no lead to date, so a new one starts
-- from zeros. Only for days computed under the current settings (the caller's contract).
-- Returns the number of rows inserted, updated or deleted.
CREATE OR REPLACE FUNCTION metrics.refresh_funnel_opportunities(p_days date [])
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_tz text;
    v_rows bigint;
BEGIN
    IF coalesce(cardinality(p_days), 0) = 0 THEN
        RETURN 0;
    END IF;
    v_tz := metrics.begin_refresh_days(p_days);

    WITH
    counted AS MATERIALIZED (
        SELECT o.metric_date, o.group_key AS lead_source, o.opportunity_count
        FROM metrics.created_opportunities(p_days, v_tz, 'lead_source') AS o
    ),

    recounted AS (
        INSERT INTO metrics.daily_lead_funnel AS f (
            metric_date, lead_source, total_leads_to_date, new_leads, sqls,
            opportunities_created
        )
        SELECT c.metric_date, c.lead_source, 0, 0, 0, c.opportunity_count
        FROM counted AS c
        ON CONFLICT (metric_date, lead_source) DO UPDATE
        SET
            opportunities_created = excluded.opportunities_created,
            computed_at = now()
        WHERE f.opportunities_created IS DISTINCT FROM excluded.opportunities_created
        RETURNING 1
    ),

    -- the sources with no opportunity left on the day: 0, or the row goes when it held
    -- nothing else
    emptied AS (
        UPDATE metrics.daily_lead_funnel AS f
        SET opportunities_created = 0, computed_at = now()
        WHERE
            f.metric_date = ANY(p_days)
            AND f.opportunities_created <> 0
            AND (f.total_leads_to_date > 0 OR f.sqls > 0)
            AND NOT EXISTS (
                SELECT FROM counted AS c
                WHERE c.metric_date = f.metric_date AND c.lead_source = f.lead_source
            )
        RETURNING 1
    ),

    removed AS (
        DELETE FROM metrics.daily_lead_funnel AS f
        WHERE
            f.metric_date = ANY(p_days)
            AND f.opportunities_created <> 0
            AND f.total_leads_to_date = 0
            AND f.sqls = 0
            AND NOT EXISTS (
                SELECT FROM counted AS c
                WHERE c.metric_date = f.metric_date AND c.lead_source = f.lead_source
            )
        RETURNING 1
    )

    SELECT
        (SELECT count(*) FROM recounted)
        + (SELECT count(*) FROM emptied)
        + (SELECT count(*) FROM removed)
    INTO v_rows;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION metrics.refresh_funnel_opportunities(date []) IS
'Recounts daily_lead_funnel.opportunities_created on a set of days; the lead columns stay.';
