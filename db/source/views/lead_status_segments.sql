-- crm.lead_status_segments: each lead's status over time as half-open segments
-- (from_at, to_at], computed in the source database so the metrics side can ask
-- "which status did each lead have at instant t" with a plain filter that postgres_fdw sends
-- to the remote side: (from_at IS NULL OR from_at < t) AND (to_at IS NULL OR to_at >= t).
--
-- Grain: one row per lead (its starting status, from_at NULL) plus one per status change.
-- Inputs: crm.leads, crm.lead_status_history (deleted rows never count).
-- Status at t: the new_status of the last change before t (ties broken by load order); before
-- the first change, that change's old_status (the status the lead started with), falling back
-- to the current status when the history does not say; with no history, the current status.
-- created_date, from_date, to_date: the same instants as local business days (the session's
-- revops.business_timezone): the segment holds the status at the end of the days
-- [from_date, to_date), never before created_date.
-- Why a view in the source: the window functions and the time zone run next to the data, so the
-- metrics database can aggregate segments remotely; only per-day totals travel through the FDW.
CREATE OR REPLACE VIEW crm.lead_status_segments AS
WITH
changes AS (
    SELECT
        h.lead_id,
        h.changed_at,
        h.old_status,
        h.new_status,
        row_number() OVER w AS change_number,
        lead(h.changed_at) OVER w AS next_changed_at
    FROM crm.lead_status_history AS h
    WHERE NOT h.is_deleted
    WINDOW w AS (PARTITION BY h.lead_id ORDER BY h.changed_at, h.history_seq)
)

SELECT
    l.lead_id,
    l.created_at,
    coalesce(c.old_status, l.status) AS status,
    NULL::timestamptz AS from_at,
    c.changed_at AS to_at,
    (l.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date AS created_date,
    (l.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date AS from_date,
    (c.changed_at AT TIME ZONE current_setting('revops.business_timezone'))::date AS to_date
FROM crm.leads AS l
LEFT JOIN changes AS c
    ON l.lead_id = c.lead_id AND c.change_number = 1
WHERE NOT l.is_deleted
UNION ALL
SELECT
    l.lead_id,
    l.created_at,
    c.new_status AS status,
    c.changed_at AS from_at,
    c.next_changed_at AS to_at,
    (l.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date AS created_date,
    greatest(
        (c.changed_at AT TIME ZONE current_setting('revops.business_timezone'))::date,
        (l.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date
    ) AS from_date,
    (c.next_changed_at AT TIME ZONE current_setting('revops.business_timezone'))::date AS to_date
FROM crm.leads AS l
INNER JOIN changes AS c
    ON l.lead_id = c.lead_id
WHERE NOT l.is_deleted;

COMMENT ON VIEW crm.lead_status_segments IS
'Lead status segments (from_at, to_at] from leads and their status history.';
GRANT SELECT ON crm.lead_status_segments TO revops_fdw_reader;
