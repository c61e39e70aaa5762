-- metrics.bi_rep_scorecard: what each rep did per calendar month and per fiscal quarter:
-- activities by kind, pipeline created, deals and revenue won, average won deal size.
-- Grain: one row per period_type ('month' or 'fiscal_quarter'), period_start_date and rep_id
-- with at least one rep_daily_activity or rep_daily_pipeline row in the period. Filter on
-- period_type: summing both kinds counts everything twice.
-- Inputs: metrics.rep_daily_activity, metrics.rep_daily_pipeline, metrics.dim_date (month and
-- fiscal quarter of each day, from the setting fiscal_year_start_month), metrics.dim_rep
-- (current name, manager, role, team, active flag: a rename shows on every period).
-- avg_won_deal_size = revenue_won / closed_won_opportunities, rounded to 2 decimals, NULL when
-- nothing was won (a won deal without an amount counts as a deal of 0).
-- Why one view for both periods: a fiscal quarter's average deal size is not the average of
-- its months, so it is aggregated from the days, not from the month rows.
CREATE OR REPLACE VIEW metrics.bi_rep_scorecard AS
WITH
daily AS (
    SELECT
        a.metric_date,
        a.rep_id,
        a.calls,
        a.emails,
        a.meetings,
        a.total_activities,
        0::bigint AS opportunities_created,
        0::numeric AS pipeline_amount_created,
        0::bigint AS closed_won_opportunities,
        0::numeric AS revenue_won
    FROM metrics.rep_daily_activity AS a
    UNION ALL
    SELECT
        p.metric_date,
        p.rep_id,
        0,
        0,
        0,
        0,
        p.opportunities_created,
        p.pipeline_amount_created,
        p.closed_won_opportunities,
        p.revenue_won
    FROM metrics.rep_daily_pipeline AS p
),

dated AS (
    SELECT
        d.*,
        dd.month_start_date,
        dd.year_month,
        dd.fiscal_year,
        dd.fiscal_quarter,
        dd.fiscal_quarter_start_date,
        dd.fiscal_year_quarter
    FROM daily AS d
    INNER JOIN metrics.dim_date AS dd
        ON d.metric_date = dd.metric_date
),

periods AS (
    SELECT
        'month' AS period_type,
        x.month_start_date AS period_start_date,
        (x.month_start_date + interval '1 month')::date - 1 AS period_end_date,
        x.year_month AS period_label,
        x.fiscal_year,
        x.fiscal_quarter,
        x.rep_id,
        sum(x.calls)::bigint AS calls,
        sum(x.emails)::bigint AS emails,
        sum(x.meetings)::bigint AS meetings,
        sum(x.total_activities)::bigint AS total_activities,
        sum(x.opportunities_created)::bigint AS opportunities_created,
        sum(x.pipeline_amount_created) AS pipeline_amount_created,
        sum(x.closed_won_opportunities)::bigint AS closed_won_opportunities,
        sum(x.revenue_won) AS revenue_won
    FROM dated AS x
    GROUP BY x.month_start_date, x.year_month, x.fiscal_year, x.fiscal_quarter, x.rep_id
    UNION ALL
    SELECT
        'fiscal_quarter',
        x.fiscal_quarter_start_date,
        (x.fiscal_quarter_start_date + interval '3 months')::date - 1,
        x.fiscal_year_quarter,
        x.fiscal_year,
        x.fiscal_quarter,
        x.rep_id,
        sum(x.calls)::bigint,
        sum(x.emails)::bigint,
        sum(x.meetings)::bigint,
        sum(x.total_activities)::bigint,
        sum(x.opportunities_created)::bigint,
        sum(x.pipeline_amount_created),
        sum(x.closed_won_opportunities)::bigint,
        sum(x.revenue_won)
    FROM dated AS x
    GROUP BY
        x.fiscal_quarter_start_date, x.fiscal_year_quarter, x.fiscal_year, x.fiscal_quarter,
        x.rep_id
)

SELECT
    p.period_type,
    p.period_start_date,
    p.period_end_date,
    p.period_label,
    p.fiscal_year,
    p.fiscal_quarter,
    p.rep_id,
    coalesce(r.rep_name, 'Unknown') AS rep_name,
    r.rep_kind,
    r.is_active,
    r.manager_name,
    r.role_name,
    r.team_name,
    p.calls,
    p.emails,
    p.meetings,
    p.total_activities - p.calls - p.emails - p.meetings AS other_activities,
    p.total_activities,
    p.opportunities_created,
    p.pipeline_amount_created,
    p.closed_won_opportunities,
    p.revenue_won,
    round(p.revenue_won / nullif(p.closed_won_opportunities, 0), 2) AS avg_won_deal_size
FROM periods AS p
LEFT JOIN metrics.dim_rep AS r
    ON p.rep_id = r.rep_id;

COMMENT ON VIEW metrics.bi_rep_scorecard IS
'Rep scorecard per month and per fiscal quarter: activities, pipeline, wins, average deal size.';
