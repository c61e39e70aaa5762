-- metrics.refresh_rep_daily_pipeline_days: deletes and recomputes metrics.rep_daily_pipeline
-- for a set of metric days (any gaps), set-based in one pass; metrics.refresh_rep_daily_pipeline
-- is the same for a range of days.
--
-- Grain: one row per metric_date and rep_id with any non-zero measure that day.
-- Inputs: metrics.created_opportunities (created day in the business time zone, computed and
-- aggregated in the source), metrics.won_opportunities, crm_remote.reps; setting
-- business_timezone.
-- Created: opportunities whose created_at falls on the local day; their amounts summed with
-- NULL as 0. Won: is_won, or when is_won is NULL, the stage name reduced to its letters and
-- lowercased equals 'closedwon' ('Closed Won', 'Closed/Won'); counted on close_date (a DATE,
-- never shifted); a won deal without a close date counts on no day.
-- Owner buckets as in rep_daily_activity ('-1'/'Unassigned', 'Unknown').
-- Why aggregate by raw owner_id first: the remote side can group by plain columns (sum() skips
-- NULL amounts; an all-NULL sum becomes 0 here); queue owners are folded into '-1' afterwards
-- by a second, small GROUP BY.
CREATE OR REPLACE FUNCTION metrics.refresh_rep_daily_pipeline_days(p_days date [])
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

    DELETE FROM metrics.rep_daily_pipeline
    WHERE metric_date = ANY(p_days);

    INSERT INTO metrics.rep_daily_pipeline (
        metric_date, rep_id, rep_name, opportunities_created, pipeline_amount_created,
        closed_won_opportunities, revenue_won
    )
    WITH
    -- all reps in one fetch (a few hundred rows): joined per row, the planner may otherwise
    -- probe the remote table once per (day, rep)
    rep_names AS MATERIALIZED (
        SELECT
            rr.rep_id,
            rr.name
        FROM crm_remote.reps AS rr
    ),

    created AS (
        SELECT
            c.metric_date,
            c.group_key AS owner_id,
            c.opportunity_count AS opportunities_created,
            c.amount AS pipeline_amount_created
        FROM metrics.created_opportunities(p_days, v_tz, 'owner') AS c
    ),

    won AS (
        SELECT
            w.metric_date,
            w.owner_id,
            w.opportunity_count AS closed_won_opportunities,
            w.amount AS revenue_won
        FROM metrics.won_opportunities(p_days) AS w
    ),

    measures AS (
        SELECT
            c.metric_date,
            metrics.rep_bucket(c.owner_id) AS rep_id,
            c.opportunities_created,
            coalesce(c.pipeline_amount_created, 0) AS pipeline_amount_created,
            0::bigint AS closed_won_opportunities,
            0::numeric AS revenue_won
        FROM created AS c
        UNION ALL
        SELECT
            w.metric_date,
            metrics.rep_bucket(w.owner_id) AS rep_id,
            0::bigint,
            0::numeric,
            w.closed_won_opportunities,
            coalesce(w.revenue_won, 0)
        FROM won AS w
    ),

    per_rep AS (
        SELECT
            m.metric_date,
            m.rep_id,
            sum(m.opportunities_created)::bigint AS opportunities_created,
            sum(m.pipeline_amount_created) AS pipeline_amount_created,
            sum(m.closed_won_opportunities)::bigint AS closed_won_opportunities,
            sum(m.revenue_won) AS revenue_won
        FROM measures AS m
        GROUP BY 1, 2
    )

    SELECT
        p.metric_date,
        p.rep_id,
        metrics.rep_label(p.rep_id, r.name) AS rep_name,
        p.opportunities_created,
        p.pipeline_amount_created,
        p.closed_won_opportunities,
        p.revenue_won
    FROM per_rep AS p
    LEFT JOIN rep_names AS r
        ON p.rep_id = r.rep_id
    WHERE
        p.opportunities_created <> 0
        OR p.pipeline_amount_created <> 0
        OR p.closed_won_opportunities <> 0
        OR p.revenue_won <> 0;

    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION metrics.refresh_rep_daily_pipeline_days(date []) IS
'Recomputes metrics.rep_daily_pipeline (one row per metric_date and rep) for a set of days.';

-- metrics.refresh_rep_daily_pipeline: the same for the metric days p_metric_date .. p_to_date
-- (default: the one day); bad ranges raise before anything changes.
CREATE OR REPLACE FUNCTION metrics.refresh_rep_daily_pipeline(
    p_metric_date date,
    p_to_date date DEFAULT NULL
)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
    RETURN metrics.refresh_rep_daily_pipeline_days(
        metrics.checked_days(p_metric_date, coalesce(p_to_date, p_metric_date))
    );
END
$$;
COMMENT ON FUNCTION metrics.refresh_rep_daily_pipeline(date, date) IS
'Recomputes metrics.rep_daily_pipeline (one row per metric_date and rep) for a day or range.';
