-- metrics.refresh_rep_daily_activity: deletes and recomputes metrics.rep_daily_activity for the
-- metric days p_metric_date .. p_to_date (default: the one day), set-based over the range.
--
-- Grain: one row per metric_date and rep_id with at least one counted activity that day.
-- Inputs: crm_remote.activity_days, crm_remote.reps; setting business_timezone.
-- Activity day and category come from the source view crm.activity_days (Task ->
-- activity_date, else created day; Event -> local day of activity_at, else activity_date, else
-- created day; categories call > email > meeting, first match wins; child events and deleted
-- rows excluded); task status does not matter. total_activities counts all of the rep's
-- activities that day. Owner buckets: NULL owner or a queue (00G...) -> '-1'/'Unassigned'; an
-- owner missing from crm.reps keeps its Id with rep_name 'Unknown'.
-- Why the view: postgres_fdw ships GROUP BY on plain columns but not AT TIME ZONE, so the local
-- day is computed in the source and the per day/owner/category counts are aggregated remotely;
-- the remote filter is the OR of three ranges on indexed columns (a superset, with good row
-- estimates, so the planner ships the aggregate); days outside the range are dropped after.
CREATE OR REPLACE FUNCTION metrics.refresh_rep_daily_activity(
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
    v_start timestamptz;
    v_end timestamptz;
    v_rows bigint;
BEGIN
    SELECT w.start_at, w.end_at
    INTO v_start, v_end
    FROM metrics.begin_refresh(v_from, v_to) AS w;

    DELETE FROM metrics.rep_daily_activity
    WHERE metric_date BETWEEN v_from AND v_to;

    INSERT INTO metrics.rep_daily_activity (
        metric_date, rep_id, rep_name, calls, emails, meetings, total_activities
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

    per_owner AS MATERIALIZED (
        SELECT
            d.activity_day AS metric_date,
            d.owner_id,
            d.category,
            count(*) AS activity_count
        FROM crm_remote.activity_days AS d
        WHERE
            d.activity_date BETWEEN v_from AND v_to
            OR (d.activity_at >= v_start AND d.activity_at < v_end)
            OR (d.created_at >= v_start AND d.created_at < v_end)
        GROUP BY 1, 2, 3
    ),

    per_rep AS (
        SELECT
            o.metric_date,
            metrics.rep_bucket(o.owner_id) AS rep_id,
            coalesce(sum(o.activity_count) FILTER (WHERE o.category = 1), 0)::bigint AS calls,
            coalesce(sum(o.activity_count) FILTER (WHERE o.category = 2), 0)::bigint AS emails,
            coalesce(sum(o.activity_count) FILTER (WHERE o.category = 3), 0)::bigint AS meetings,
            sum(o.activity_count)::bigint AS total_activities
        FROM per_owner AS o
        WHERE o.metric_date BETWEEN v_from AND v_to
        GROUP BY 1, 2
    )

    SELECT
        p.metric_date,
        p.rep_id,
        metrics.rep_label(p.rep_id, r.name) AS rep_name,
        p.calls,
        p.emails,
        p.meetings,
        p.total_activities
    FROM per_rep AS p
    LEFT JOIN rep_names AS r
        ON p.rep_id = r.rep_id;

    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION metrics.refresh_rep_daily_activity(date, date) IS
'Recomputes metrics.rep_daily_activity (one row per metric_date and rep) for a day or range.';
