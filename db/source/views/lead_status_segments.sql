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
-- The columns after segment_kind are what the qualification-day rules (ARCHITECTURE.md section
-- 6, in metrics.lead_qualification) need besides the segments, so that one read of this view
-- per lead feeds both the lead state and the segment state: old_status (the history row's
-- old_status on 'change' rows, NULL on the others: rule 1b's "from a non-qualified status"),
-- and the lead's own lead_source, lead_status (its current raw status), converted_date and
-- is_converted, the same on every row of a lead. Appended at the end because CREATE OR
-- REPLACE VIEW may only add columns there.
-- Why a view in the source: the window functions and the time zone run next to the data.
-- Why this shape: a filter on lead_id (the metrics side asks for the few leads a day of
-- changes touched: lead_id = ANY(...)) must reach the history scan. lead_id is the window's
-- PARTITION BY column and the first branch's lead_id comes from the history, so the remote
-- planner pushes the filter into the window and reads only those leads' history by index;
-- each history row yields its segments from one VALUES list (start, change, current) rather
-- than three joins over a shared window, and leads without history come from an anti join.
CREATE OR REPLACE VIEW crm.lead_status_segments AS
SELECT
    c.lead_id,
    l.created_at,
    s.status,
    s.from_at,
    s.to_at,
    (l.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date AS created_date,
    greatest(
        (s.from_at AT TIME ZONE current_setting('revops.business_timezone'))::date,
        (l.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date
    ) AS from_date,
    (s.to_at AT TIME ZONE current_setting('revops.business_timezone'))::date AS to_date,
    s.segment_kind,
    s.old_status,
    l.lead_source,
    l.status AS lead_status,
    l.converted_date,
    l.is_converted
FROM (
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
) AS c
INNER JOIN crm.leads AS l
    ON c.lead_id = l.lead_id
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
CROSS JOIN LATERAL (
    VALUES
    (
        c.change_number = 1, coalesce(c.old_status, l.status), NULL::timestamptz, c.changed_at,
        'start', NULL::text
    ),
    (
        true, c.new_status, c.changed_at, coalesce(c.next_changed_at, lg.lagged_at), 'change',
        c.old_status
    ),
    (lg.lagged_at IS NOT NULL, l.status, l.last_modified_at, NULL::timestamptz, 'current', NULL)
) AS s (is_segment, status, from_at, to_at, segment_kind, old_status)
WHERE NOT l.is_deleted AND s.is_segment
UNION ALL
SELECT
    l.lead_id,
    l.created_at,
    l.status,
    NULL::timestamptz,
    NULL::timestamptz,
    (l.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date,
    (l.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date,
    NULL::date,
    'start',
    NULL::text,
    l.lead_source,
    l.status,
    l.converted_date,
    l.is_converted
FROM crm.leads AS l
WHERE
    NOT l.is_deleted
    AND NOT EXISTS (
        SELECT FROM crm.lead_status_history AS h
        WHERE h.lead_id = l.lead_id AND NOT h.is_deleted
    );

COMMENT ON VIEW crm.lead_status_segments IS
'Lead status segments (from_at, to_at] from leads and their status history.';
GRANT SELECT ON crm.lead_status_segments TO revops_fdw_reader;
