-- metrics.lead_qualification: the leads p_lead_ids (NULL: every lead) as the lead state needs
-- them, from ONE read of crm_remote.lead_status_segments: every status segment of each lead,
-- each carrying its lead's part in the funnel: lead source label, created day and
-- qualification day (ARCHITECTURE.md section 6). The one place the SQL-day rules live: the
-- lead state (metrics.sync_lead_state) is built from it, and the funnel is summed from the
-- state.
--
-- Grain: one row per row of crm.lead_status_segments of a non-deleted lead asked for (a
-- deleted or unknown Id returns no row). Every lead has exactly one 'start' row: its row for
-- metrics.lead_state. Empty segments (to_date <= from_date) are returned too: the rules count
-- them (a lead's starting status often is one), metrics.lead_segment_state does not.
-- Inputs: crm_remote.lead_status_segments; p_qualified (lowercased qualified statuses). The
-- days are the view's, computed in the source in the business time zone (the caller checks
-- the source's zone with metrics.source_timezone()).
-- Lead source label: trimmed; NULL or blank is 'Unknown'; likewise the status label.
-- Qualification day, in order (raw statuses, trimmed and lowercased, against p_qualified):
-- from its status history (its 'change' rows, one per history row), its created day when the
-- status it started with (the 'start' row's status: the first history row's old_status, else
-- its current status) is qualified (rule 1a), else the day of its first change from a
-- non-qualified (or NULL) old_status into a qualified status (1b); else its converted_date when
-- converted (2); else, for a qualified current status, the day it took effect (3): the day of
-- the lead's last_modified_at when the history lags behind it (its 'current' row), the
-- created day otherwise; else the lead is not an SQL. Never before the created day.
-- How: the per-lead inputs of the rules are window aggregates over the lead's rows (lead_id
-- partitions); the lead-level columns are the same on all of them. A change's day is its
-- row's from_date: the local day of its changed_at, raised to the created day by the view.
-- The earliest of those is the earliest change's day raised the same way, which is exactly
-- rule 1b followed by "never before the created day" (likewise the 'current' row's from_date
-- for rule 3, and greatest() for rule 2).
-- Why one read: the segments hold every history row and the lead-level columns the rules
-- need, so reading leads, history, first changes and lags separately probed the same rows
-- five times. The lead_id filter reaches the source as `lead_id = ANY($1)` (postgres_fdw) and
-- the view's window over the history, so a day of changes reads only its own leads' rows; NULL
-- reads every lead once. Days rather than instants: no time zone arithmetic per row here.
CREATE OR REPLACE FUNCTION metrics.lead_qualification(
    p_lead_ids text [],
    p_qualified text []
)
RETURNS TABLE (
    lead_id text,
    lead_source text,
    created_date date,
    qualified_date date,
    segment_kind text,
    status text,
    from_date date,
    to_date date
)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
    RETURN QUERY
    SELECT
        r.lead_id,
        coalesce(nullif(btrim(r.lead_source), ''), 'Unknown'),
        r.created_date,
        qd.qualified_date,
        r.segment_kind,
        coalesce(nullif(btrim(r.status), ''), 'Unknown'),
        r.from_date,
        r.to_date
    FROM (
        SELECT
            s.lead_id,
            s.created_date,
            s.status,
            s.from_date,
            s.to_date,
            s.segment_kind,
            s.lead_source,
            s.lead_status,
            s.converted_date,
            s.is_converted,
            -- rule 1a input: it has a status history, and the status it started with
            bool_or(s.segment_kind = 'change') OVER lead_rows AS has_history,
            min(s.status) FILTER (WHERE s.segment_kind = 'start') OVER lead_rows
            AS start_status,
            -- rule 1b: the first change from a non-qualified status into a qualified one
            min(s.from_date) FILTER (
                WHERE
                    s.segment_kind = 'change'
                    AND lower(btrim(s.status)) = ANY(p_qualified)
                    AND (
                        s.old_status IS NULL
                        OR NOT lower(btrim(s.old_status)) = ANY(p_qualified)
                    )
            ) OVER lead_rows AS qualified_change_date,
            -- rule 3 input: the current status ahead of a lagging history, from when it took
            -- effect
            min(s.from_date) FILTER (WHERE s.segment_kind = 'current') OVER lead_rows
            AS lagging_since_date
        FROM crm_remote.lead_status_segments AS s
        WHERE p_lead_ids IS NULL OR s.lead_id = ANY(p_lead_ids)
        WINDOW lead_rows AS (PARTITION BY s.lead_id)
    ) AS r
    CROSS JOIN LATERAL (
        -- never before the created day (from_date already is not); NULL: not an SQL
        SELECT
            CASE
                -- rule 1a: it started qualified (its first history row's old_status, else
                -- its current status)
                WHEN r.has_history AND lower(btrim(r.start_status)) = ANY(p_qualified)
                    THEN r.created_date
                WHEN r.qualified_change_date IS NOT NULL
                    THEN r.qualified_change_date
                -- rule 2
                WHEN
                    r.converted_date IS NOT NULL
                    AND (r.is_converted OR r.is_converted IS NULL)
                    THEN greatest(r.converted_date, r.created_date)
                -- rule 3: a qualified current status, from when it took effect
                WHEN
                    r.lagging_since_date IS NOT NULL
                    AND lower(btrim(r.lead_status)) = ANY(p_qualified)
                    THEN r.lagging_since_date
                WHEN lower(btrim(r.lead_status)) = ANY(p_qualified)
                    THEN r.created_date
            END AS qualified_date
    ) AS qd;
END
$$;
COMMENT ON FUNCTION metrics.lead_qualification(text [], text []) IS
'Each status segment of the leads (or every lead), with its lead''s funnel part: one source read.';
