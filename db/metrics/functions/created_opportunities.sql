-- metrics.created_opportunities: the opportunities created on a set of metric days, counted
-- and summed in the source per created day and owner (p_by 'owner': the rep pipeline) or per
-- created day and funnel lead source (p_by 'lead_source': the daily funnel).
-- Grain: one row per (metric_date, owner_id) or (metric_date, lead_source).
-- Inputs: crm_remote.opportunity_days (non-deleted opportunities, their created day in the
-- business time zone and their funnel lead source, computed in the source); p_timezone, the
-- business time zone already checked against the source (metrics.begin_refresh).
-- Why dynamic SQL: the days become ranges on the indexed created_at (metrics.day_filter), so
-- postgres_fdw sends one remote query that reads and aggregates only those days, whatever
-- their gaps; amount is summed with NULL as 0 by the callers (an all-NULL sum is NULL here).
CREATE OR REPLACE FUNCTION metrics.created_opportunities(
    p_days date [],
    p_timezone text,
    p_by text
)
RETURNS TABLE (metric_date date, group_key text, opportunity_count bigint, amount numeric)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
    IF p_by IS NULL OR p_by NOT IN ('owner', 'lead_source') THEN
        RAISE EXCEPTION 'created_opportunities groups by owner or lead_source (got %)',
            coalesce(p_by, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT o.created_date, o.%s, count(*), sum(o.amount)'
        ' FROM crm_remote.opportunity_days AS o WHERE %s GROUP BY 1, 2',
        CASE p_by WHEN 'owner' THEN 'owner_id' ELSE 'funnel_lead_source' END,
        metrics.day_filter(p_days, p_timezone, ARRAY['o.created_at'])
    );
END
$$;
COMMENT ON FUNCTION metrics.created_opportunities(date [], text, text) IS
'Opportunities created on a set of days, aggregated in the source per day and owner or lead source.';
