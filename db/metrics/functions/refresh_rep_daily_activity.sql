-- metrics.refresh_rep_daily_activity: deletes and recomputes metrics.rep_daily_activity for the
-- metric days p_metric_date .. p_to_date (default: the one day), set-based over the range.
--
-- Grain: one row per metric_date and rep_id with at least one counted activity that day.
-- Inputs: crm_remote.activities, crm_remote.reps; setting business_timezone.
-- Activity day: Task -> activity_date, else created day; Event -> local day of activity_at,
-- else activity_date, else created day. Child (invitee copy) events and deleted rows never
-- count; task status does not matter. Categories, first match wins (so each activity lands in
-- at most one): calls (TaskSubtype Call, Type Call, or any CallType), emails (TaskSubtype
-- Email/List Email, Type Email), meetings (Events, Type Meeting); comparisons trimmed and
-- case-insensitive. total_activities counts all of the rep's activities that day.
-- Owner buckets: NULL owner or a queue (00G...) -> '-1'/'Unassigned'; an owner missing from
-- crm.reps keeps its Id with rep_name 'Unknown'.
-- Why two branches: rows whose day is a DATE column are aggregated remotely (postgres_fdw pushes
-- GROUP BY on plain columns and a CASE of built-in operators, but not AT TIME ZONE, IS TRUE or
-- COALESCE with literals); rows whose day needs the time zone are fetched and grouped locally.
-- The category CASE (0 none, 1 call, 2 email, 3 meeting; a NULL test falls through, so the
-- first match wins) is written out in both branches, since a SQL function would stop the
-- remote aggregation: keep the two identical.
CREATE OR REPLACE FUNCTION metrics.refresh_rep_daily_activity(
    p_metric_date date,
    p_to_date date DEFAULT NULL
)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_from date := p_metric_date;
    v_to date := coalesce(p_to_date, p_metric_date);
    v_tz text;
    v_start timestamptz;
    v_end timestamptz;
    v_rows bigint;
BEGIN
    PERFORM metrics.check_date_range(v_from, v_to);
    PERFORM metrics.lock_metrics();
    v_tz := metrics.business_timezone();
    v_start := v_from::timestamp AT TIME ZONE v_tz;
    v_end := (v_to + 1)::timestamp AT TIME ZONE v_tz;

    DELETE FROM metrics.rep_daily_activity
    WHERE metric_date BETWEEN v_from AND v_to;

    INSERT INTO metrics.rep_daily_activity (
        metric_date, rep_id, rep_name, calls, emails, meetings, total_activities
    )
    WITH
    -- Activities whose day is their activity_date (Tasks, and Events without a start time):
    -- grouped by plain columns and the category CASE, which postgres_fdw runs remotely (from
    -- a covering index): one row per day, owner and category travels.
    by_date AS (
        SELECT
            a.activity_date AS metric_date,
            a.owner_id,
            CASE
                WHEN
                    lower(btrim(a.task_subtype)) = 'call'
                    OR lower(btrim(a.type)) = 'call'
                    OR length(btrim(a.call_type)) > 0
                    THEN 1
                WHEN
                    lower(btrim(a.task_subtype)) IN ('email', 'list email')
                    OR lower(btrim(a.type)) = 'email'
                    THEN 2
                WHEN a.source_object = 'Event' OR lower(btrim(a.type)) = 'meeting' THEN 3
                ELSE 0
            END AS category,
            count(*) AS activity_count
        FROM crm_remote.activities AS a
        WHERE
            NOT a.is_deleted
            AND NOT a.is_child
            AND a.activity_date BETWEEN v_from AND v_to
            AND (a.source_object = 'Task' OR a.activity_at IS NULL)
        GROUP BY 1, 2, 3
    ),

    -- Activities whose day comes from a timestamp (an Event's start, else the created time):
    -- the local day needs the time zone, which postgres_fdw does not ship, so these rows are
    -- fetched and grouped here, with the same category CASE.
    by_time AS (
        SELECT
            CASE
                WHEN a.source_object = 'Event' AND a.activity_at IS NOT NULL
                    THEN (a.activity_at AT TIME ZONE v_tz)::date
                ELSE (a.created_at AT TIME ZONE v_tz)::date
            END AS metric_date,
            a.owner_id,
            CASE
                WHEN
                    lower(btrim(a.task_subtype)) = 'call'
                    OR lower(btrim(a.type)) = 'call'
                    OR length(btrim(a.call_type)) > 0
                    THEN 1
                WHEN
                    lower(btrim(a.task_subtype)) IN ('email', 'list email')
                    OR lower(btrim(a.type)) = 'email'
                    THEN 2
                WHEN a.source_object = 'Event' OR lower(btrim(a.type)) = 'meeting' THEN 3
                ELSE 0
            END AS category,
            count(*) AS activity_count
        FROM crm_remote.activities AS a
        WHERE
            NOT a.is_deleted
            AND NOT a.is_child
            AND (
                (a.source_object = 'Event' AND a.activity_at >= v_start AND a.activity_at < v_end)
                OR (
                    a.activity_date IS NULL
                    AND (a.source_object = 'Task' OR a.activity_at IS NULL)
                    AND a.created_at >= v_start
                    AND a.created_at < v_end
                )
            )
        GROUP BY 1, 2, 3
    ),

    per_rep AS (
        SELECT
            u.metric_date,
            metrics.rep_bucket(u.owner_id) AS rep_id,
            coalesce(sum(u.activity_count) FILTER (WHERE u.category = 1), 0)::bigint AS calls,
            coalesce(sum(u.activity_count) FILTER (WHERE u.category = 2), 0)::bigint AS emails,
            coalesce(sum(u.activity_count) FILTER (WHERE u.category = 3), 0)::bigint AS meetings,
            sum(u.activity_count)::bigint AS total_activities
        FROM (
            SELECT * FROM by_date
            UNION ALL
            SELECT * FROM by_time
        ) AS u
        WHERE u.metric_date BETWEEN v_from AND v_to
        GROUP BY 1, 2
    )

    SELECT
        p.metric_date,
        p.rep_id,
        CASE
            WHEN p.rep_id = '-1' THEN 'Unassigned'
            ELSE coalesce(nullif(btrim(r.name), ''), 'Unknown')
        END AS rep_name,
        p.calls,
        p.emails,
        p.meetings,
        p.total_activities
    FROM per_rep AS p
    LEFT JOIN crm_remote.reps AS r
        ON p.rep_id = r.rep_id;

    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION metrics.refresh_rep_daily_activity(date, date) IS
'Recomputes metrics.rep_daily_activity (one row per metric_date and rep) for a day or range.';
