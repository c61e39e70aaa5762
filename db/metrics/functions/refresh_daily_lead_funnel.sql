-- metrics.refresh_daily_lead_funnel: deletes and recomputes metrics.daily_lead_funnel for the
-- metric days p_metric_date .. p_to_date (default: the one day), set-based over the range.
--
-- Grain: one row per metric_date and lead_source (trimmed; NULL/blank = 'Unknown'), for every
-- source with a lead created up to that day, or an SQL or opportunity on that day.
-- Inputs: metrics.lead_state (each lead's source label, created day and qualification day:
-- the section 6 rules live in metrics.lead_qualification, which builds it; brought up to date
-- first by metrics.sync_lead_state), crm_remote.opportunity_days; setting business_timezone.
-- total_leads_to_date is the count before the range plus a running sum of the new leads, so
-- a 365-day backfill gives exactly the rows of 365 one-day calls. The count before the range
-- is the previous day's stored rows when the ordinary run asks for it (revops.base_from_facts:
-- metrics.run_due) and that day is computed under the current settings, else a count over
-- the lead state: a new day then costs its own leads, not the history.
-- Opportunity source: its own lead_source, else that of the lead converted into it (the
-- earliest such lead with a non-blank source), else 'Unknown' (crm.opportunity_days), counted
-- remotely on its created day in the business time zone (metrics.created_opportunities; the
-- ordinary run recounts only this column on the days an opportunity change touches:
-- metrics.refresh_funnel_opportunities).
CREATE OR REPLACE FUNCTION metrics.refresh_daily_lead_funnel(
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
DECLARE
    v_from date := p_metric_date;
    v_to date := coalesce(p_to_date, p_metric_date);
    v_tz text;
    v_base_from_facts boolean;
    v_rows bigint;
BEGIN
    SELECT w.business_timezone
    INTO v_tz
    FROM metrics.begin_refresh(v_from, v_to) AS w;
    PERFORM metrics.sync_lead_state();
    v_base_from_facts := metrics.base_from_facts(v_from - 1);

    DELETE FROM metrics.daily_lead_funnel
    WHERE metric_date BETWEEN v_from AND v_to;

    INSERT INTO metrics.daily_lead_funnel (
        metric_date, lead_source, total_leads_to_date, new_leads, sqls, opportunities_created
    )
    WITH
    leads_before AS (
        SELECT f.lead_source, f.total_leads_to_date AS lead_count
        FROM metrics.daily_lead_funnel AS f
        WHERE v_base_from_facts AND f.metric_date = v_from - 1
        UNION ALL
        SELECT l.lead_source, count(*)
        FROM metrics.lead_state AS l
        WHERE NOT v_base_from_facts AND l.created_date < v_from
        GROUP BY 1
    ),

    new_by_day AS (
        SELECT l.created_date AS metric_date, l.lead_source, count(*) AS lead_count
        FROM metrics.lead_state AS l
        WHERE l.created_date BETWEEN v_from AND v_to
        GROUP BY 1, 2
    ),

    sqls_by_day AS (
        SELECT l.qualified_date AS metric_date, l.lead_source, count(*) AS sql_count
        FROM metrics.lead_state AS l
        WHERE l.qualified_date BETWEEN v_from AND v_to
        GROUP BY 1, 2
    ),

    opportunities_by_day AS (
        SELECT
            o.metric_date,
            o.group_key AS lead_source,
            o.opportunity_count
        FROM metrics.created_opportunities(
            metrics.checked_days(v_from, v_to), v_tz, 'lead_source'
        ) AS o
    ),

    sources AS (
        SELECT lead_source FROM leads_before
        UNION
        SELECT lead_source FROM new_by_day
        UNION
        SELECT lead_source FROM sqls_by_day
        UNION
        SELECT lead_source FROM opportunities_by_day
    ),

    grid AS (
        SELECT
            d.metric_day::date AS metric_date,
            s.lead_source
        FROM generate_series(v_from, v_to, interval '1 day') AS d (metric_day)
        CROSS JOIN sources AS s
    ),

    filled AS (
        SELECT
            g.metric_date,
            g.lead_source,
            coalesce(lb.lead_count, 0)
            + sum(coalesce(nb.lead_count, 0)) OVER (
                PARTITION BY g.lead_source ORDER BY g.metric_date
            ) AS total_leads_to_date,
            coalesce(nb.lead_count, 0) AS new_leads,
            coalesce(sq.sql_count, 0) AS sqls,
            coalesce(ob.opportunity_count, 0) AS opportunities_created
        FROM grid AS g
        LEFT JOIN leads_before AS lb
            ON g.lead_source = lb.lead_source
        LEFT JOIN new_by_day AS nb
            ON g.metric_date = nb.metric_date AND g.lead_source = nb.lead_source
        LEFT JOIN sqls_by_day AS sq
            ON g.metric_date = sq.metric_date AND g.lead_source = sq.lead_source
        LEFT JOIN opportunities_by_day AS ob
            ON g.metric_date = ob.metric_date AND g.lead_source = ob.lead_source
    )

    SELECT
        f.metric_date,
        f.lead_source,
        f.total_leads_to_date,
        f.new_leads,
        f.sqls,
        f.opportunities_created
    FROM filled AS f
    WHERE
        f.total_leads_to_date > 0
        OR f.sqls > 0
        OR f.opportunities_created > 0;

    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION metrics.refresh_daily_lead_funnel(date, date) IS
'Recomputes metrics.daily_lead_funnel (one row per metric_date and lead_source) for a day or range.';
