-- metrics.bi_funnel_conversion: the lead funnel per calendar month and lead source: leads
-- created, leads that became SQLs, opportunities created, and the ratios between them.
-- Grain: one row per month_start_date and lead_source with at least one daily_lead_funnel row
-- in that month.
-- Inputs: metrics.daily_lead_funnel, metrics.dim_date (year_month, fiscal year and quarter of
-- the month, whether it is the month to date).
-- Rates are ratios of the month's counts, not cohorts: an SQL this month may come from a lead
-- created months ago, so a rate can exceed 1 (the facts hold daily counts, not lead-level
-- paths). Each rate is rounded to 4 decimals and NULL when its denominator is 0.
-- total_leads_to_date is the source's value on the last day of the month the facts hold.
-- Why a view: BI reads the facts only through views like this one (revops_bi has no access
-- to crm_remote or run_log); it calls no metrics function.
CREATE OR REPLACE VIEW metrics.bi_funnel_conversion AS
WITH
monthly AS (
    SELECT
        dd.month_start_date,
        f.lead_source,
        sum(f.new_leads)::bigint AS new_leads,
        sum(f.sqls)::bigint AS sqls,
        sum(f.opportunities_created)::bigint AS opportunities_created,
        (array_agg(f.total_leads_to_date ORDER BY f.metric_date DESC))[1] AS total_leads_to_date
    FROM metrics.daily_lead_funnel AS f
    INNER JOIN metrics.dim_date AS dd
        ON f.metric_date = dd.metric_date
    GROUP BY dd.month_start_date, f.lead_source
)

SELECT
    m.month_start_date,
    dd.year_month,
    dd.fiscal_year,
    dd.fiscal_quarter,
    dd.fiscal_year_quarter,
    dd.is_month_to_date,
    m.lead_source,
    m.new_leads,
    m.sqls,
    m.opportunities_created,
    m.total_leads_to_date,
    round(m.sqls::numeric / nullif(m.new_leads, 0), 4) AS lead_to_sql_rate,
    round(m.opportunities_created::numeric / nullif(m.sqls, 0), 4) AS sql_to_opportunity_rate,
    round(m.opportunities_created::numeric / nullif(m.new_leads, 0), 4)
        AS lead_to_opportunity_rate
FROM monthly AS m
INNER JOIN metrics.dim_date AS dd
    ON m.month_start_date = dd.metric_date;

COMMENT ON VIEW metrics.bi_funnel_conversion IS
'Funnel per month and lead source: leads, SQLs, opportunities and their ratios.';
