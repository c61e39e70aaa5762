-- metrics.refresh_lead_stage_snapshot: deletes and recomputes metrics.lead_stage_snapshot for
-- the metric days p_metric_date .. p_to_date (default: the one day), set-based over the range.
--
-- Grain: one row per metric_date and status (trimmed; NULL/blank = 'Unknown') holding at least
-- one lead that day.
-- Inputs: metrics.lead_segment_state (each lead's status segments, from
-- crm.lead_status_segments: brought up to date first by metrics.sync_lead_state).
-- Population of day D: non-deleted leads created before the end of D. Status as of D: the last
-- status-history value at or before the end of D (ties broken by load order); before a lead's
-- first recorded change, the old_status of that change (the status it had then), falling back
-- to the current status when the history does not say; with no history, the current status
-- (a lagging history: the current status from the lead's last modification).
-- avg_lead_age_days: mean of (D - created day), each clamped at 0, rounded to 2 decimals,
-- from lead_count and created_day_sum (the sum of the leads' created days, kept so that
-- leads can be added and removed exactly).
-- Why segments: a segment holds the status at the end of the days [from_date, to_date), so the
-- range is answered with +1/-1 steps and a running sum per status from the status of the day
-- before the range: the stored rows of that day when the ordinary run asks for it
-- (metrics.base_from_facts), else the segments holding then. A new day costs the segments
-- that start or end on it, not every lead.
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
    v_base_from_facts boolean;
    v_rows bigint;
BEGIN
    PERFORM metrics.begin_refresh(v_from, v_to);
    PERFORM metrics.sync_lead_state();
    v_base_from_facts := metrics.base_from_facts(v_from - 1);

    DELETE FROM metrics.lead_stage_snapshot
    WHERE metric_date BETWEEN v_from AND v_to;

    INSERT INTO metrics.lead_stage_snapshot (
        metric_date, status, lead_count, created_day_sum, avg_lead_age_days
    )
    WITH
    -- the day before the range: the stored rows, or the segments holding at its end
    base AS (
        SELECT s.status, s.lead_count, s.created_day_sum
        FROM metrics.lead_stage_snapshot AS s
        WHERE v_base_from_facts AND s.metric_date = v_from - 1
        UNION ALL
        SELECT g.status, count(*), sum(g.created_date - date '2000-01-01')
        FROM metrics.lead_segment_state AS g
        WHERE
            NOT v_base_from_facts
            AND g.from_date < v_from
            AND (g.to_date IS NULL OR g.to_date >= v_from)
        GROUP BY 1
    ),

    steps AS (
        SELECT b.status, v_from AS step_date, b.lead_count AS lead_step,
            b.created_day_sum AS created_step
        FROM base AS b
        UNION ALL
        SELECT g.status, g.from_date, 1, g.created_date - date '2000-01-01'
        FROM metrics.lead_segment_state AS g
        WHERE g.from_date BETWEEN v_from AND v_to
        UNION ALL
        SELECT g.status, g.to_date, -1, -(g.created_date - date '2000-01-01')
        FROM metrics.lead_segment_state AS g
        WHERE g.to_date BETWEEN v_from AND v_to
    ),

    daily_steps AS (
        SELECT s.status, s.step_date, sum(s.lead_step) AS lead_step,
            sum(s.created_step) AS created_step
        FROM steps AS s
        GROUP BY 1, 2
    ),

    grid AS (
        SELECT
            g.metric_day::date AS metric_date,
            st.status
        FROM generate_series(v_from, v_to, interval '1 day') AS g (metric_day)
        CROSS JOIN (SELECT DISTINCT d.status FROM daily_steps AS d) AS st
    ),

    running AS (
        SELECT
            gr.metric_date,
            gr.status,
            sum(coalesce(d.lead_step, 0)) OVER w AS lead_count,
            sum(coalesce(d.created_step, 0)) OVER w AS created_day_sum
        FROM grid AS gr
        LEFT JOIN daily_steps AS d
            ON gr.status = d.status AND gr.metric_date = d.step_date
        WINDOW w AS (PARTITION BY gr.status ORDER BY gr.metric_date)
    )

    SELECT
        r.metric_date,
        r.status,
        r.lead_count,
        r.created_day_sum,
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
