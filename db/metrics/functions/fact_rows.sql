-- metrics.fact_rows: every row of the four fact tables for a day range in one comparable
-- shape: table, day, the row's key within the day (lead source, rep Id or status) and its
-- values as jsonb (computed_at left out: it is when, not what), plus every row of the rep
-- dimension metrics.dim_rep (derived too, but of no day: metric_date NULL, key rep_id,
-- updated_at left out). Used by metrics.verify_range.
-- Grain: one row per fact row and per dim_rep row.
CREATE OR REPLACE FUNCTION metrics.fact_rows(p_from_date date, p_to_date date)
RETURNS TABLE (table_name text, metric_date date, row_key text, row_values jsonb)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'daily_lead_funnel', f.metric_date, f.lead_source,
        to_jsonb(f) - 'computed_at' - 'metric_date' - 'lead_source'
    FROM metrics.daily_lead_funnel AS f
    WHERE f.metric_date BETWEEN p_from_date AND p_to_date
    UNION ALL
    SELECT 'rep_daily_activity', a.metric_date, a.rep_id,
        to_jsonb(a) - 'computed_at' - 'metric_date' - 'rep_id'
    FROM metrics.rep_daily_activity AS a
    WHERE a.metric_date BETWEEN p_from_date AND p_to_date
    UNION ALL
    SELECT 'rep_daily_pipeline', p.metric_date, p.rep_id,
        to_jsonb(p) - 'computed_at' - 'metric_date' - 'rep_id'
    FROM metrics.rep_daily_pipeline AS p
    WHERE p.metric_date BETWEEN p_from_date AND p_to_date
    UNION ALL
    SELECT 'lead_stage_snapshot', s.metric_date, s.status,
        to_jsonb(s) - 'computed_at' - 'metric_date' - 'status'
    FROM metrics.lead_stage_snapshot AS s
    WHERE s.metric_date BETWEEN p_from_date AND p_to_date
    UNION ALL
    SELECT 'dim_rep', NULL::date, r.rep_id, to_jsonb(r) - 'updated_at' - 'rep_id'
    FROM metrics.dim_rep AS r;
$$;
COMMENT ON FUNCTION metrics.fact_rows(date, date) IS
'Fact rows of a day range and the dim_rep rows as (table, day, key, values) for comparison.';
