-- metrics.refresh_rep_daily_activity_days: deletes and recomputes metrics.rep_daily_activity
-- for a set of metric days (any gaps), set-based in one pass; metrics.refresh_rep_daily_activity
-- is the same for a range of days.
--
-- Grain: one row per metric_date and rep_id with at least one counted activity that day.
-- Inputs: metrics.activity_counts (crm_remote.activity_days counted in the source),
-- crm_remote.reps; setting business_timezone.
-- Activity day and category come from the source view crm.activity_days (Task ->
-- activity_date, else created day; Event -> local day of activity_at, else activity_date, else
-- created day; categories call > email > meeting, first match wins; child events and deleted
-- rows excluded); task status does not matter. total_activities counts all of the rep's
-- activities that day. Owner buckets: NULL owner or a queue (00G...) -> '-1'/'Unassigned'; an
-- owner missing from crm.reps keeps its Id with rep_name 'Unknown'.
-- Why the view: postgres_fdw ships GROUP BY on plain columns but not AT TIME ZONE, so the local
-- day is computed in the source and the per day/owner/category counts are aggregated remotely
-- (metrics.activity_counts: the remote filter is the OR of ranges on indexed columns).
CREATE OR REPLACE FUNCTION metrics.refresh_rep_daily_activity_days(p_days date [])
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_tz text;
    v_rows bigint;
BEGIN
    IF coalesce(cardinality(p_days), 0) = 0 THEN
        RETURN 0;
    END IF;
    v_tz := metrics.begin_refresh_days(p_days);

    DELETE FROM metrics.rep_daily_activity
    WHERE metric_date = ANY(p_days);

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
        SELECT a.metric_date, a.owner_id, a.category, a.activity_count
        FROM metrics.activity_counts(p_days, v_tz) AS a
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
COMMENT ON FUNCTION metrics.refresh_rep_daily_activity_days(date []) IS
'Recomputes metrics.rep_daily_activity (one row per metric_date and rep) for a set of days.';

-- metrics.refresh_rep_daily_activity: the same for the metric days p_metric_date .. p_to_date
-- (default: the one day); bad ranges raise before anything changes.
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
BEGIN
    RETURN metrics.refresh_rep_daily_activity_days(
        metrics.checked_days(p_metric_date, coalesce(p_to_date, p_metric_date))
    );
END
$$;
COMMENT ON FUNCTION metrics.refresh_rep_daily_activity(date, date) IS
'Recomputes metrics.rep_daily_activity (one row per metric_date and rep) for a day or range.';
