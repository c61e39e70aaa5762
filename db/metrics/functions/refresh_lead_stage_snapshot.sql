-- metrics.refresh_lead_stage_snapshot: deletes and recomputes metrics.lead_stage_snapshot for
-- the metric days p_metric_date .. p_to_date (default: the one day), set-based over the range.
--
-- Grain: one row per metric_date and status (trimmed; NULL/blank = 'Unknown') holding at least
-- one lead that day.
-- Inputs: crm_remote.lead_status_segments (a view in the source database over crm.leads and
-- crm.lead_status_history, with local days in the business time zone); setting
-- business_timezone.
-- Population of day D: non-deleted leads created before the end of D. Status as of D: the last
-- status-history value at or before the end of D (ties broken by load order); before a lead's
-- first recorded change, the old_status of that change (the status it had then), falling back
-- to the current status when the history does not say; with no history, the current status.
-- avg_lead_age_days: mean of (D - created day), each clamped at 0, rounded to 2 decimals.
-- Why segments: a segment (from_at, to_at] holds the status at the end of every day D with
-- from_at < end(D) <= to_at, i.e. the local days [day(from_at), day(to_at)), never before the
-- created day. The range is answered with +1/-1 deltas and a running sum per status, so a
-- backfill does not multiply leads by days; the remote side filters segments to the range and
-- counts them per (status, from_date, to_date), so only those totals travel.
CREATE OR REPLACE FUNCTION metrics.refresh_lead_stage_snapshot(
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
    v_first_end timestamptz;
    v_end timestamptz;
    v_rows bigint;
BEGIN
    SELECT w.business_timezone, w.end_at
    INTO v_tz, v_end
    FROM metrics.begin_refresh(v_from, v_to) AS w;
    v_first_end := (v_from + 1)::timestamp AT TIME ZONE v_tz;

    DELETE FROM metrics.lead_stage_snapshot
    WHERE metric_date BETWEEN v_from AND v_to;

    INSERT INTO metrics.lead_stage_snapshot (metric_date, status, lead_count, avg_lead_age_days)
    WITH
    -- segments holding a status at the end of some day of the range, counted remotely per
    -- (raw status, from_date, to_date) with the sum of their leads' created days
    segment_groups AS MATERIALIZED (
        SELECT
            sg.status,
            sg.from_date,
            sg.to_date,
            count(*) AS lead_count,
            sum(sg.created_date - date '2000-01-01') AS created_day_sum
        FROM crm_remote.lead_status_segments AS sg
        WHERE
            sg.created_at < v_end
            AND (sg.from_at IS NULL OR sg.from_at < v_end)
            AND (sg.to_at IS NULL OR sg.to_at >= v_first_end)
        GROUP BY 1, 2, 3
    ),

    segments AS (
        SELECT
            coalesce(nullif(btrim(g.status), ''), 'Unknown') AS status,
            g.from_date,
            g.to_date,
            g.lead_count,
            g.created_day_sum
        FROM segment_groups AS g
        WHERE
            g.from_date <= v_to
            AND (g.to_date IS NULL OR g.to_date > greatest(g.from_date, v_from))
    ),

    deltas AS (
        SELECT
            s.status,
            greatest(s.from_date, v_from) AS delta_date,
            s.lead_count AS lead_delta,
            s.created_day_sum AS created_day_delta
        FROM segments AS s
        UNION ALL
        SELECT
            s.status,
            s.to_date AS delta_date,
            -s.lead_count AS lead_delta,
            -s.created_day_sum AS created_day_delta
        FROM segments AS s
        WHERE s.to_date <= v_to
    ),

    daily_deltas AS (
        SELECT
            d.status,
            d.delta_date,
            sum(d.lead_delta) AS lead_delta,
            sum(d.created_day_delta) AS created_day_delta
        FROM deltas AS d
        GROUP BY 1, 2
    ),

    grid AS (
        SELECT
            g.metric_day::date AS metric_date,
            st.status
        FROM generate_series(v_from, v_to, interval '1 day') AS g (metric_day)
        CROSS JOIN (SELECT DISTINCT dd.status FROM daily_deltas AS dd) AS st
    ),

    running AS (
        SELECT
            gr.metric_date,
            gr.status,
            sum(coalesce(dd.lead_delta, 0)) OVER w AS lead_count,
            sum(coalesce(dd.created_day_delta, 0)) OVER w AS created_day_sum
        FROM grid AS gr
        LEFT JOIN daily_deltas AS dd
            ON gr.status = dd.status AND gr.metric_date = dd.delta_date
        WINDOW w AS (PARTITION BY gr.status ORDER BY gr.metric_date)
    )

    SELECT
        r.metric_date,
        r.status,
        r.lead_count,
        round(
            (r.lead_count * (r.metric_date - date '2000-01-01') - r.created_day_sum)::numeric
            / r.lead_count,
            2
        ) AS avg_lead_age_days
    FROM running AS r
    WHERE r.lead_count > 0;

    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION metrics.refresh_lead_stage_snapshot(date, date) IS
'Recomputes metrics.lead_stage_snapshot (one row per metric_date and status) for a day or range.';
