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
-- Why the OR of three ranges: the day comes from one of three columns, so the remote filter
-- is a superset on each column's own range (index-friendly); the exact day filter follows.
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
    candidate AS (
        SELECT
            a.owner_id,
            CASE
                WHEN a.source_object = 'Event'
                    THEN coalesce(
                        (a.activity_at AT TIME ZONE v_tz)::date,
                        a.activity_date,
                        (a.created_at AT TIME ZONE v_tz)::date
                    )
                ELSE coalesce(a.activity_date, (a.created_at AT TIME ZONE v_tz)::date)
            END AS metric_date,
            CASE
                WHEN
                    lower(btrim(a.task_subtype)) = 'call'
                    OR lower(btrim(a.type)) = 'call'
                    OR nullif(btrim(a.call_type), '') IS NOT NULL
                    THEN 'call'
                WHEN
                    lower(btrim(a.task_subtype)) IN ('email', 'list email')
                    OR lower(btrim(a.type)) = 'email'
                    THEN 'email'
                WHEN
                    a.source_object = 'Event'
                    OR lower(btrim(a.type)) = 'meeting'
                    THEN 'meeting'
            END AS category
        FROM crm_remote.activities AS a
        WHERE
            NOT a.is_deleted
            AND NOT a.is_child
            AND (
                a.activity_date BETWEEN v_from AND v_to
                OR (a.activity_at >= v_start AND a.activity_at < v_end)
                OR (a.created_at >= v_start AND a.created_at < v_end)
            )
    ),

    per_rep AS (
        SELECT
            c.metric_date,
            metrics.rep_bucket(c.owner_id) AS rep_id,
            count(*) FILTER (WHERE c.category = 'call') AS calls,
            count(*) FILTER (WHERE c.category = 'email') AS emails,
            count(*) FILTER (WHERE c.category = 'meeting') AS meetings,
            count(*) AS total_activities
        FROM candidate AS c
        WHERE c.metric_date BETWEEN v_from AND v_to
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
