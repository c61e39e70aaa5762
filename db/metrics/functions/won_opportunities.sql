-- metrics.won_opportunities: the opportunities won on a set of metric days, counted and summed
-- in the source per close day and owner (the rep pipeline's closed-won measures).
-- Grain: one row per (metric_date, owner_id).
-- Inputs: crm_remote.opportunities. Won: is_won, or when is_won is NULL, the stage name reduced
-- to its letters and lowercased equals 'closedwon' ('Closed Won', 'Closed/Won'); counted on
-- close_date (a DATE, never shifted); a won deal without a close date counts on no day.
-- Why dynamic SQL: the days become ranges on the indexed close_date (metrics.day_filter), one
-- per run of adjacent days, in one remote query that postgres_fdw aggregates remotely; amount
-- is summed with NULL as 0 by the caller (an all-NULL sum is NULL here).
CREATE OR REPLACE FUNCTION metrics.won_opportunities(p_days date [])
RETURNS TABLE (metric_date date, owner_id text, opportunity_count bigint, amount numeric)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT o.close_date, o.owner_id, count(*), sum(o.amount)'
        ' FROM crm_remote.opportunities AS o'
        ' WHERE NOT o.is_deleted AND %s'
        ' AND (o.is_won OR (o.is_won IS NULL'
        ' AND lower(regexp_replace(o.stage_name, %L, %L, %L)) = %L))'
        ' GROUP BY 1, 2',
        -- close_date is a date: the time zone plays no part
        metrics.day_filter(p_days, 'UTC', ARRAY[]::text [], ARRAY['o.close_date']),
        '[^[:alpha:]]', '', 'g', 'closedwon'
    );
END
$$;
COMMENT ON FUNCTION metrics.won_opportunities(date []) IS
'Opportunities won on a set of days, aggregated in the source per close day and owner.';
