-- metrics.dim_date: the date dimension, a time spine for dashboards: every day exists, with or
-- without facts.
-- Grain: one row per calendar day (metric_date) from the first day the facts hold (or
-- yesterday, with no facts yet) to a year after today (or after the newest fact day).
-- Inputs: metrics.settings (business_timezone: what "today" is; fiscal_year_start_month,
-- 1..12), the first and last metric_date of the fact tables and metrics.computed_days (index
-- endpoints: a few index probes).
-- Calendar: ISO week (Monday first) and ISO year; calendar month, quarter, year. Fiscal year:
-- starts on the first day of fiscal_year_start_month and is named by the calendar year it ends
-- in (start month 2: FY2026 = 2025-02-01 .. 2026-01-31; start month 1: the calendar year);
-- fiscal quarters are its three-month quarters.
-- Relative labels are about the newest complete business day, yesterday in the business time
-- zone (the facts' newest day): is_yesterday; is_month_to_date / is_quarter_to_date /
-- is_fiscal_quarter_to_date / is_fiscal_year_to_date: from the first day of yesterday's
-- month / quarter / fiscal quarter / fiscal year through yesterday (on the first of a month,
-- month to date is the whole previous month); days_ago = today minus the day.
-- Why a view, not a table: relative labels must be right on the day a dashboard is opened,
-- whenever the last run was, and a changed fiscal setting must reach every row at once; the
-- spine is generated from stored bounds (the facts' first day, computed_days), a few thousand
-- rows computed in about a millisecond, so there is nothing to maintain and nothing to go
-- stale. It calls no metrics function (revops_bi may execute none; it reads this as the owner).
CREATE OR REPLACE VIEW metrics.dim_date AS
WITH
clock AS (
    SELECT
        (now() AT TIME ZONE (tz.setting_value #>> '{}'))::date AS today,
        coalesce((
            SELECT (fy.setting_value #>> '{}')::integer
            FROM metrics.settings AS fy
            WHERE fy.setting_name = 'fiscal_year_start_month'
        ), 1) AS fiscal_start_month
    FROM metrics.settings AS tz
    WHERE tz.setting_name = 'business_timezone'
),

bounds AS (
    SELECT
        least(
            c.today - 1,
            (SELECT min(f.metric_date) FROM metrics.daily_lead_funnel AS f),
            (SELECT min(a.metric_date) FROM metrics.rep_daily_activity AS a),
            (SELECT min(p.metric_date) FROM metrics.rep_daily_pipeline AS p),
            (SELECT min(s.metric_date) FROM metrics.lead_stage_snapshot AS s),
            (SELECT min(cd.metric_date) FROM metrics.computed_days AS cd)
        ) AS first_date,
        (greatest(
            c.today,
            (SELECT max(f.metric_date) FROM metrics.daily_lead_funnel AS f),
            (SELECT max(a.metric_date) FROM metrics.rep_daily_activity AS a),
            (SELECT max(p.metric_date) FROM metrics.rep_daily_pipeline AS p),
            (SELECT max(s.metric_date) FROM metrics.lead_stage_snapshot AS s),
            (SELECT max(cd.metric_date) FROM metrics.computed_days AS cd)
        ) + interval '1 year')::date AS last_date
    FROM clock AS c
),

spine AS (
    SELECT
        d.day::date AS metric_date,
        c.today,
        c.fiscal_start_month,
        -- months since the fiscal year started: 0 .. 11
        (extract(MONTH FROM d.day)::integer - c.fiscal_start_month + 12) % 12 AS fiscal_month_index
    FROM bounds AS b
    CROSS JOIN clock AS c
    CROSS JOIN LATERAL generate_series(
        b.first_date::timestamp, b.last_date::timestamp, interval '1 day'
    ) AS d (day)
),

calendar AS (
    SELECT
        s.metric_date,
        s.today,
        extract(ISOYEAR FROM s.metric_date)::integer AS iso_year,
        extract(WEEK FROM s.metric_date)::integer AS iso_week,
        date_trunc('week', s.metric_date)::date AS iso_week_start_date,
        to_char(s.metric_date, 'IYYY-"W"IW') AS iso_year_week,
        extract(YEAR FROM s.metric_date)::integer AS calendar_year,
        extract(QUARTER FROM s.metric_date)::integer AS calendar_quarter,
        date_trunc('quarter', s.metric_date)::date AS quarter_start_date,
        to_char(s.metric_date, 'YYYY-"Q"Q') AS year_quarter,
        extract(MONTH FROM s.metric_date)::integer AS month_of_year,
        date_trunc('month', s.metric_date)::date AS month_start_date,
        to_char(s.metric_date, 'FMMonth') AS month_name,
        to_char(s.metric_date, 'YYYY-MM') AS year_month,
        extract(DAY FROM s.metric_date)::integer AS day_of_month,
        extract(ISODOW FROM s.metric_date)::integer AS iso_day_of_week,
        to_char(s.metric_date, 'FMDay') AS day_name,
        extract(ISODOW FROM s.metric_date) IN (6, 7) AS is_weekend,
        (date_trunc('month', s.metric_date) - make_interval(months => s.fiscal_month_index))::date
            AS fiscal_year_start_date,
        s.fiscal_month_index / 3 + 1 AS fiscal_quarter,
        (
            date_trunc('month', s.metric_date)
            - make_interval(months => s.fiscal_month_index % 3)
        )::date AS fiscal_quarter_start_date,
        s.fiscal_start_month
    FROM spine AS s
),

fiscal AS (
    SELECT
        c.*,
        extract(YEAR FROM c.fiscal_year_start_date)::integer
        + CASE WHEN c.fiscal_start_month = 1 THEN 0 ELSE 1 END AS fiscal_year
    FROM calendar AS c
),

anchor AS (
    -- yesterday's row: the newest complete business day the relative labels count to
    SELECT
        f.metric_date,
        f.month_start_date,
        f.quarter_start_date,
        f.fiscal_quarter_start_date,
        f.fiscal_year_start_date
    FROM fiscal AS f
    WHERE f.metric_date = f.today - 1
)

SELECT
    f.metric_date,
    f.iso_year,
    f.iso_week,
    f.iso_week_start_date,
    f.iso_year_week,
    f.iso_day_of_week,
    f.day_name,
    f.is_weekend,
    f.day_of_month,
    f.month_of_year,
    f.month_name,
    f.month_start_date,
    f.year_month,
    f.calendar_quarter,
    f.quarter_start_date,
    f.year_quarter,
    f.calendar_year,
    f.fiscal_year,
    f.fiscal_quarter,
    f.fiscal_year_start_date,
    f.fiscal_quarter_start_date,
    'FY' || f.fiscal_year::text || '-Q' || f.fiscal_quarter::text AS fiscal_year_quarter,
    f.today - f.metric_date AS days_ago,
    f.metric_date < f.today AS is_complete,
    f.metric_date = a.metric_date AS is_yesterday,
    f.metric_date BETWEEN a.month_start_date AND a.metric_date AS is_month_to_date,
    f.metric_date BETWEEN a.quarter_start_date AND a.metric_date AS is_quarter_to_date,
    f.metric_date BETWEEN a.fiscal_quarter_start_date AND a.metric_date
        AS is_fiscal_quarter_to_date,
    f.metric_date BETWEEN a.fiscal_year_start_date AND a.metric_date AS is_fiscal_year_to_date
FROM fiscal AS f
CROSS JOIN anchor AS a;

COMMENT ON VIEW metrics.dim_date IS
'Date dimension: one row per day over the facts'' range plus a year ahead, calendar, fiscal and relative labels.';
