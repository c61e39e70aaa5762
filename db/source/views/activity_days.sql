-- crm.activity_days: every counted activity with its metric day and category, so the metrics
-- database can GROUP BY day, owner and category remotely (postgres_fdw ships GROUP BY on plain
-- columns, not the time zone conversion or the category rules themselves).
--
-- Grain: one row per non-deleted activity that is not an invitee copy (is_child).
-- Inputs: crm.activities; the session's revops.business_timezone (see crm.business_clock).
-- activity_day: Task -> activity_date, else the local day of created_at; all-day Event ->
-- activity_date (Salesforce stores its start as midnight UTC, which is the previous local day
-- west of UTC); other Event -> the local day of activity_at, else activity_date, else the local
-- day of created_at.
-- category, first match wins (a NULL test falls through): 1 call (TaskSubtype Call, Type Call,
-- or any CallType), 2 email (TaskSubtype Email, ListEmail (the API value) or List Email (its
-- label), Type Email), 3 meeting (Events, Type
-- Meeting), 0 none. Comparisons trimmed and case-insensitive.
-- The raw date/time columns stay so callers can filter on indexed columns.
CREATE OR REPLACE VIEW crm.activity_days AS
SELECT
    a.activity_id,
    a.owner_id,
    a.source_object,
    a.activity_date,
    a.activity_at,
    a.created_at,
    CASE
        WHEN a.source_object = 'Event' AND a.is_all_day_event AND a.activity_date IS NOT NULL
            THEN a.activity_date
        WHEN a.source_object = 'Event'
            THEN coalesce(
                (a.activity_at AT TIME ZONE current_setting('revops.business_timezone'))::date,
                a.activity_date,
                (a.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date
            )
        ELSE coalesce(
            a.activity_date,
            (a.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date
        )
    END AS activity_day,
    CASE
        WHEN
            lower(btrim(a.task_subtype)) = 'call'
            OR lower(btrim(a.type)) = 'call'
            OR length(btrim(a.call_type)) > 0
            THEN 1
        WHEN
            lower(btrim(a.task_subtype)) IN ('email', 'listemail', 'list email')
            OR lower(btrim(a.type)) = 'email'
            THEN 2
        WHEN a.source_object = 'Event' OR lower(btrim(a.type)) = 'meeting' THEN 3
        ELSE 0
    END AS category
FROM crm.activities AS a
WHERE
    NOT a.is_deleted
    AND NOT a.is_child;

COMMENT ON VIEW crm.activity_days IS 'Counted activities with their business day and category.';
GRANT SELECT ON crm.activity_days TO revops_fdw_reader;
