-- metrics.bi_daily_totals: company totals per day (every source, every rep) with 7- and
-- 28-day moving sums, for trend lines and "yesterday against the last weeks" tiles.
-- Grain: one row per metric_date from the first to the last computed day
-- (metrics.computed_days), every day in between (a day without rows has zeros).
-- Inputs: metrics.daily_lead_funnel (leads, SQLs, leads to date), metrics.rep_daily_activity
-- (activities), metrics.rep_daily_pipeline (opportunities, pipeline, wins), metrics.dim_date
-- (the spine), metrics.computed_days.
-- Moving sums (_7d, _28d) add the day and the 6 (27) days before it; before the first computed
-- day there is nothing to add, so the first rows' windows are short. is_computed says whether
-- a run computed the day (a gap left by partial backfills shows zeros, not missing rows).
-- opportunities_created comes from rep_daily_pipeline (it equals the funnel's count).
-- Why the moving sums here: a window over every day of the spine is exact where a
-- "ROWS 6 PRECEDING" over fact rows would skip days without rows; it calls no metrics
-- function.
CREATE OR REPLACE VIEW metrics.bi_daily_totals AS
WITH
funnel AS (
    SELECT
        f.metric_date,
        sum(f.new_leads)::bigint AS new_leads,
        sum(f.sqls)::bigint AS sqls,
        sum(f.total_leads_to_date)::bigint AS total_leads_to_date
    FROM metrics.daily_lead_funnel AS f
    GROUP BY f.metric_date
),

activity AS (
    SELECT
        a.metric_date,
        sum(a.calls)::bigint AS calls,
        sum(a.emails)::bigint AS emails,
        sum(a.meetings)::bigint AS meetings,
        sum(a.total_activities)::bigint AS total_activities
    FROM metrics.rep_daily_activity AS a
    GROUP BY a.metric_date
),

pipeline AS (
    SELECT
        p.metric_date,
        sum(p.opportunities_created)::bigint AS opportunities_created,
        sum(p.pipeline_amount_created) AS pipeline_amount_created,
        sum(p.closed_won_opportunities)::bigint AS closed_won_opportunities,
        sum(p.revenue_won) AS revenue_won
    FROM metrics.rep_daily_pipeline AS p
    GROUP BY p.metric_date
),

days AS (
    SELECT
        dd.metric_date,
        EXISTS (
            SELECT FROM metrics.computed_days AS c WHERE c.metric_date = dd.metric_date
        ) AS is_computed,
        coalesce(fu.new_leads, 0) AS new_leads,
        coalesce(fu.sqls, 0) AS sqls,
        coalesce(fu.total_leads_to_date, 0) AS total_leads_to_date,
        coalesce(pl.opportunities_created, 0) AS opportunities_created,
        coalesce(ac.calls, 0) AS calls,
        coalesce(ac.emails, 0) AS emails,
        coalesce(ac.meetings, 0) AS meetings,
        coalesce(ac.total_activities, 0) AS total_activities,
        coalesce(pl.pipeline_amount_created, 0) AS pipeline_amount_created,
        coalesce(pl.closed_won_opportunities, 0) AS closed_won_opportunities,
        coalesce(pl.revenue_won, 0) AS revenue_won
    FROM metrics.dim_date AS dd
    LEFT JOIN funnel AS fu
        ON dd.metric_date = fu.metric_date
    LEFT JOIN activity AS ac
        ON dd.metric_date = ac.metric_date
    LEFT JOIN pipeline AS pl
        ON dd.metric_date = pl.metric_date
    WHERE
        dd.metric_date >= (SELECT min(c.metric_date) FROM metrics.computed_days AS c)
        AND dd.metric_date <= (SELECT max(c.metric_date) FROM metrics.computed_days AS c)
)

SELECT
    d.metric_date,
    d.is_computed,
    d.new_leads,
    d.sqls,
    d.opportunities_created,
    d.total_leads_to_date,
    d.calls,
    d.emails,
    d.meetings,
    d.total_activities,
    d.pipeline_amount_created,
    d.closed_won_opportunities,
    d.revenue_won,
    (sum(d.new_leads) OVER last_7_days)::bigint AS new_leads_7d,
    (sum(d.new_leads) OVER last_28_days)::bigint AS new_leads_28d,
    (sum(d.sqls) OVER last_7_days)::bigint AS sqls_7d,
    (sum(d.sqls) OVER last_28_days)::bigint AS sqls_28d,
    (sum(d.opportunities_created) OVER last_7_days)::bigint AS opportunities_created_7d,
    (sum(d.opportunities_created) OVER last_28_days)::bigint AS opportunities_created_28d,
    (sum(d.total_activities) OVER last_7_days)::bigint AS total_activities_7d,
    (sum(d.total_activities) OVER last_28_days)::bigint AS total_activities_28d,
    sum(d.pipeline_amount_created) OVER last_7_days AS pipeline_amount_created_7d,
    sum(d.pipeline_amount_created) OVER last_28_days AS pipeline_amount_created_28d,
    (sum(d.closed_won_opportunities) OVER last_7_days)::bigint AS closed_won_opportunities_7d,
    (sum(d.closed_won_opportunities) OVER last_28_days)::bigint AS closed_won_opportunities_28d,
    sum(d.revenue_won) OVER last_7_days AS revenue_won_7d,
    sum(d.revenue_won) OVER last_28_days AS revenue_won_28d
FROM days AS d
WINDOW
    last_7_days AS (ORDER BY d.metric_date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW),
    last_28_days AS (ORDER BY d.metric_date ROWS BETWEEN 27 PRECEDING AND CURRENT ROW);

COMMENT ON VIEW metrics.bi_daily_totals IS
'Company totals per day with 7- and 28-day moving sums.';
