-- metrics.freshness: how current each fact table is, for BI dashboards and `revops status`.
-- Grain: one row per fact table plus one for run_log ('run_log': the newest day with a
-- successful run, the authoritative freshness). lag_days = yesterday (business time zone)
-- minus the newest day; 0 means up to date.
-- Why no function calls: revops_bi reads this view but may not execute metrics functions, so
-- the time zone is read from metrics.settings directly (access checked as the view owner).
CREATE OR REPLACE VIEW metrics.freshness AS
WITH
business_day AS (
    SELECT (now() AT TIME ZONE (s.setting_value #>> '{}'))::date - 1 AS yesterday
    FROM metrics.settings AS s
    WHERE s.setting_name = 'business_timezone'
),

newest AS (
    SELECT
        'daily_lead_funnel' AS table_name,
        max(f.metric_date) AS last_metric_date,
        max(f.computed_at) AS last_computed_at
    FROM metrics.daily_lead_funnel AS f
    UNION ALL
    SELECT 'rep_daily_activity', max(a.metric_date), max(a.computed_at)
    FROM metrics.rep_daily_activity AS a
    UNION ALL
    SELECT 'rep_daily_pipeline', max(p.metric_date), max(p.computed_at)
    FROM metrics.rep_daily_pipeline AS p
    UNION ALL
    SELECT 'lead_stage_snapshot', max(s.metric_date), max(s.computed_at)
    FROM metrics.lead_stage_snapshot AS s
    UNION ALL
    SELECT 'run_log', max(r.metric_date), max(r.finished_at)
    FROM metrics.run_log AS r
    WHERE r.status = 'succeeded'
)

SELECT
    n.table_name,
    n.last_metric_date,
    n.last_computed_at,
    bd.yesterday - n.last_metric_date AS lag_days
FROM newest AS n
CROSS JOIN business_day AS bd;

COMMENT ON VIEW metrics.freshness IS 'Newest metric day per fact table and in run_log, with lag in days.';
