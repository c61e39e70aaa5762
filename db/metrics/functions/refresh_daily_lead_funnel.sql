-- metrics.refresh_daily_lead_funnel: deletes and recomputes metrics.daily_lead_funnel for the
-- metric days p_metric_date .. p_to_date (default: the one day), set-based over the range.
--
-- Grain: one row per metric_date and lead_source (trimmed; NULL/blank = 'Unknown'), for every
-- source with a lead created up to that day, or an SQL or opportunity on that day.
-- Inputs: crm_remote.leads, crm_remote.lead_days, crm_remote.lead_status_history,
-- crm_remote.lead_first_changes, crm_remote.lead_status_lag, crm_remote.opportunity_days;
-- settings business_timezone and qualified_statuses.
-- Why this shape: day windows are timestamptz bounds computed once, so the remote filters are
-- plain ranges on created_at (index-friendly, pushed down by postgres_fdw); the running
-- "to date" total is the count before the range (aggregated remotely, grouped by the raw
-- column: postgres_fdw does not push GROUP BY expressions with literals) plus a window sum, so
-- a 365-day backfill reads each table once and gives exactly the rows of 365 one-day calls.
-- SQL candidates: a lead can only qualify inside the range through a qualified status change,
-- a converted_date, a creation or a qualified current status modified inside the range; those
-- few Ids are collected first and only their rows and history are read, instead of every lead
-- on every daily run.
-- Qualification day of a lead (ARCHITECTURE.md section 6), in order: from its status history,
-- its created day when the status it started with (the first history row's old_status) is
-- qualified, else the day of its first change from a non-qualified into a qualified status;
-- else its converted_date when converted; else, for a qualified current status, the day it
-- took effect: the day of the lead's last_modified_at when the history lags behind it
-- (crm.lead_status_lag), the created day otherwise; else the
-- lead is not an SQL. Never before the created day. The SQL counts under the lead's own source.
-- Opportunity source: its own lead_source, else that of the lead converted into it (the
-- earliest such lead with a non-blank source), else 'Unknown' (crm.opportunity_days). Created
-- days of leads and opportunities come from the source views, which compute local days in the
-- business time zone, so those counts are aggregated remotely.
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
    v_start timestamptz;
    v_end timestamptz;
    v_qualified text [];
    v_candidates text [];
    v_rows bigint;
BEGIN
    SELECT w.business_timezone, w.start_at, w.end_at
    INTO v_tz, v_start, v_end
    FROM metrics.begin_refresh(v_from, v_to) AS w;
    v_qualified := metrics.qualified_statuses();

    -- leads that may have their qualification day inside the range; for long ranges (a
    -- backfill) reading every lead once is cheaper than shipping a long Id list: NULL = all
    IF v_to - v_from < 14 THEN
        SELECT coalesce(array_agg(DISTINCT c.lead_id), ARRAY[]::text [])
        INTO v_candidates
        FROM (
            SELECT h.lead_id
            FROM crm_remote.lead_status_history AS h
            WHERE
                NOT h.is_deleted
                AND h.changed_at >= v_start
                AND h.changed_at < v_end
                AND lower(btrim(h.new_status)) = ANY(v_qualified)
            UNION ALL
            SELECT l.lead_id
            FROM crm_remote.leads AS l
            WHERE
                NOT l.is_deleted
                AND l.converted_date BETWEEN v_from AND v_to
            UNION ALL
            -- any lead created in the range: its starting status may be qualified, and
            -- history dated before its creation counts on its created day
            SELECT l.lead_id
            FROM crm_remote.leads AS l
            WHERE
                NOT l.is_deleted
                AND l.created_at >= v_start
                AND l.created_at < v_end
            UNION ALL
            -- a qualified current status ahead of a lagging history counts from its change
            SELECT l.lead_id
            FROM crm_remote.leads AS l
            WHERE
                NOT l.is_deleted
                AND l.last_modified_at >= v_start
                AND l.last_modified_at < v_end
                AND lower(btrim(l.status)) = ANY(v_qualified)
        ) AS c;

    END IF;

    DELETE FROM metrics.daily_lead_funnel
    WHERE metric_date BETWEEN v_from AND v_to;

    INSERT INTO metrics.daily_lead_funnel (
        metric_date, lead_source, total_leads_to_date, new_leads, sqls, opportunities_created
    )
    WITH
    leads_before_raw AS MATERIALIZED (
        SELECT
            l.lead_source,
            count(*) AS lead_count
        FROM crm_remote.leads AS l
        WHERE
            NOT l.is_deleted
            AND l.created_at < v_start
        GROUP BY l.lead_source
    ),

    leads_before AS (
        SELECT
            coalesce(nullif(btrim(r.lead_source), ''), 'Unknown') AS lead_source,
            sum(r.lead_count) AS lead_count
        FROM leads_before_raw AS r
        GROUP BY 1
    ),

    new_by_day_raw AS MATERIALIZED (
        SELECT
            d.created_date AS metric_date,
            d.lead_source,
            count(*) AS lead_count
        FROM crm_remote.lead_days AS d
        WHERE
            d.created_at >= v_start
            AND d.created_at < v_end
        GROUP BY 1, 2
    ),

    new_by_day AS (
        SELECT
            r.metric_date,
            coalesce(nullif(btrim(r.lead_source), ''), 'Unknown') AS lead_source,
            sum(r.lead_count) AS lead_count
        FROM new_by_day_raw AS r
        GROUP BY 1, 2
    ),

    -- rule 1b: the first change from a non-qualified status into a qualified one
    first_qualified_change AS (
        SELECT
            h.lead_id,
            min(h.changed_at) AS qualified_at
        FROM crm_remote.lead_status_history AS h
        WHERE
            NOT h.is_deleted
            AND (v_candidates IS NULL OR h.lead_id = ANY(v_candidates))
            AND lower(btrim(h.new_status)) = ANY(v_qualified)
            AND (h.old_status IS NULL OR NOT lower(btrim(h.old_status)) = ANY(v_qualified))
        GROUP BY h.lead_id
    ),

    -- rule 1a inputs: the first history row of leads whose starting status may be qualified
    -- (a qualified old_status, or none: then the current status is the starting one)
    first_changes AS (
        SELECT f.lead_id, f.old_status
        FROM crm_remote.lead_first_changes AS f
        WHERE
            (v_candidates IS NULL OR f.lead_id = ANY(v_candidates))
            AND (f.old_status IS NULL OR lower(btrim(f.old_status)) = ANY(v_qualified))
    ),

    -- rule 3 input: a qualified current status ahead of a lagging history, from when it
    -- took effect
    lagging AS (
        SELECT g.lead_id, g.lagging_since
        FROM crm_remote.lead_status_lag AS g
        WHERE
            (v_candidates IS NULL OR g.lead_id = ANY(v_candidates))
            AND lower(btrim(g.status)) = ANY(v_qualified)
    ),

    lead_qualification AS (
        SELECT
            coalesce(nullif(btrim(l.lead_source), ''), 'Unknown') AS lead_source,
            -- never before the created day; a lead with no qualification day stays NULL
            CASE
                WHEN qd.qualified_date IS NOT NULL
                    THEN greatest(qd.qualified_date, (l.created_at AT TIME ZONE v_tz)::date)
            END AS qualified_date
        FROM crm_remote.leads AS l
        LEFT JOIN first_changes AS fc
            ON l.lead_id = fc.lead_id
        LEFT JOIN first_qualified_change AS q
            ON l.lead_id = q.lead_id
        LEFT JOIN lagging AS g
            ON l.lead_id = g.lead_id
        CROSS JOIN LATERAL (
            SELECT
                CASE
                    -- rule 1a: it started qualified (its first history row's old_status, else
                    -- its current status)
                    WHEN lower(btrim(coalesce(fc.old_status, l.status))) = ANY(v_qualified)
                        AND fc.lead_id IS NOT NULL
                        THEN (l.created_at AT TIME ZONE v_tz)::date
                    WHEN q.qualified_at IS NOT NULL
                        THEN (q.qualified_at AT TIME ZONE v_tz)::date
                    -- rule 2
                    WHEN
                        l.converted_date IS NOT NULL
                        AND (l.is_converted OR l.is_converted IS NULL)
                        THEN l.converted_date
                    -- rule 3: a qualified current status, from when it took effect
                    WHEN g.lagging_since IS NOT NULL
                        THEN (g.lagging_since AT TIME ZONE v_tz)::date
                    WHEN lower(btrim(l.status)) = ANY(v_qualified)
                        THEN (l.created_at AT TIME ZONE v_tz)::date
                END AS qualified_date
        ) AS qd
        WHERE
            NOT l.is_deleted
            AND (v_candidates IS NULL OR l.lead_id = ANY(v_candidates))
    ),

    sqls_by_day AS (
        SELECT
            lq.qualified_date AS metric_date,
            lq.lead_source,
            count(*) AS sql_count
        FROM lead_qualification AS lq
        WHERE lq.qualified_date BETWEEN v_from AND v_to
        GROUP BY 1, 2
    ),

    opportunities_by_day AS (
        SELECT
            o.created_date AS metric_date,
            o.funnel_lead_source AS lead_source,
            count(*) AS opportunity_count
        FROM crm_remote.opportunity_days AS o
        WHERE
            o.created_at >= v_start
            AND o.created_at < v_end
        GROUP BY 1, 2
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
