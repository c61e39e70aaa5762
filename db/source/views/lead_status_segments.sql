-- crm.lead_status_segments: each lead's status over time as half-open segments
-- (from_at, to_at], computed in the source database so the metrics side can ask
-- "which status did each lead have at instant t" with a plain filter that postgres_fdw sends
-- to the remote side: (from_at IS NULL OR from_at < t) AND (to_at IS NULL OR to_at >= t).
--
-- Grain: one row per lead (segment_kind 'start': its starting status, from_at NULL) plus one
-- per status change ('change'), plus one for the current status when the history lags behind
-- the lead ('current', below).
-- Inputs: crm.leads, crm.lead_status_history (deleted rows never count).
-- Status at t: the new_status of the last change before t (ties broken by load order); before
-- the first change, that change's old_status (the status the lead started with), falling back
-- to the current status when the history does not say; with no history, the current status.
-- A lagging history: when the lead's current status differs from the last history value and
-- the lead was modified after that change, the current status holds from its
-- last_modified_at on (the LeadHistory export is behind the Lead export).
-- created_date, from_date, to_date: the same instants as local business days (the session's
-- revops.business_timezone): the segment holds the status at the end of the days
-- [from_date, to_date), never before created_date (history dated before the lead's creation
-- counts from the created day).
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
    (c.changed_at AT TIME ZONE current_setting('revops.business_timezone'))::date AS to_date,
    'start' AS segment_kind
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
    coalesce(c.next_changed_at, lg.lagged_at) AS to_at,
    (l.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date AS created_date,
    greatest(
        (c.changed_at AT TIME ZONE current_setting('revops.business_timezone'))::date,
        (l.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date
    ) AS from_date,
    (
        coalesce(c.next_changed_at, lg.lagged_at)
        AT TIME ZONE current_setting('revops.business_timezone')
    )::date AS to_date,
    'change' AS segment_kind
FROM crm.leads AS l
INNER JOIN changes AS c
    ON l.lead_id = c.lead_id
CROSS JOIN LATERAL (
    SELECT
        CASE
            WHEN
                c.next_changed_at IS NULL
                AND l.last_modified_at > c.changed_at
                AND nullif(btrim(l.status), '') IS DISTINCT FROM nullif(btrim(c.new_status), '')
                THEN l.last_modified_at
        END AS lagged_at
) AS lg
WHERE NOT l.is_deleted
UNION ALL
SELECT
    l.lead_id,
    l.created_at,
    l.status,
    l.last_modified_at AS from_at,
    NULL::timestamptz AS to_at,
    (l.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date AS created_date,
    greatest(
        (l.last_modified_at AT TIME ZONE current_setting('revops.business_timezone'))::date,
        (l.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date
    ) AS from_date,
    NULL::date AS to_date,
    'current' AS segment_kind
FROM crm.leads AS l
INNER JOIN changes AS c
    ON l.lead_id = c.lead_id AND c.next_changed_at IS NULL
WHERE
    NOT l.is_deleted
    AND l.last_modified_at > c.changed_at
    AND nullif(btrim(l.status), '') IS DISTINCT FROM nullif(btrim(c.new_status), '');

COMMENT ON VIEW crm.lead_status_segments IS
'Lead status segments (from_at, to_at] from leads and their status history.';
GRANT SELECT ON crm.lead_status_segments TO revops_fdw_reader;
