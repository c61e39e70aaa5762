-- metrics.lead_qualification: the funnel's part of each lead, derived from the source: its
-- lead source label, created day and qualification day (ARCHITECTURE.md section 6), for the
-- leads p_lead_ids (NULL: every lead). The one place the SQL-day rules live: the lead state
-- (metrics.sync_lead_state) is built from it, and the funnel is summed from the state.
--
-- Grain: one row per non-deleted lead asked for (a deleted or unknown Id returns no row).
-- Inputs: crm_remote.leads, crm_remote.lead_status_history, crm_remote.lead_first_changes,
-- crm_remote.lead_status_lag; p_timezone (the business time zone, checked against the
-- source by the caller) and p_qualified (lowercased qualified statuses).
-- Lead source label: trimmed; NULL or blank is 'Unknown'. Created day: created_at in the
-- business time zone.
-- Qualification day, in order: from its status history, its created day when the status it
-- started with (the first history row's old_status) is qualified, else the day of its first
-- change from a non-qualified into a qualified status; else its converted_date when
-- converted; else, for a qualified current status, the day it took effect: the day of the
-- lead's last_modified_at when the history lags behind it (crm.lead_status_lag), the created
-- day otherwise; else the lead is not an SQL. Never before the created day.
-- Why every input filters on the Ids: each is a table or a view whose lead_id filter the
-- remote planner applies first (postgres_fdw ships `lead_id = ANY($1)`), so a day of changes
-- reads only its own leads' rows; NULL reads every lead once.
CREATE OR REPLACE FUNCTION metrics.lead_qualification(
    p_lead_ids text [],
    p_timezone text,
    p_qualified text []
)
RETURNS TABLE (lead_id text, lead_source text, created_date date, qualified_date date)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
    RETURN QUERY
    WITH
    -- rule 1b: the first change from a non-qualified status into a qualified one
    first_qualified_change AS (
        SELECT
            h.lead_id,
            min(h.changed_at) AS qualified_at
        FROM crm_remote.lead_status_history AS h
        WHERE
            NOT h.is_deleted
            AND (p_lead_ids IS NULL OR h.lead_id = ANY(p_lead_ids))
            AND lower(btrim(h.new_status)) = ANY(p_qualified)
            AND (h.old_status IS NULL OR NOT lower(btrim(h.old_status)) = ANY(p_qualified))
        GROUP BY h.lead_id
    ),

    -- rule 1a inputs: the first history row of leads whose starting status may be qualified
    -- (a qualified old_status, or none: then the current status is the starting one)
    first_changes AS (
        SELECT f.lead_id, f.old_status
        FROM crm_remote.lead_first_changes AS f
        WHERE
            (p_lead_ids IS NULL OR f.lead_id = ANY(p_lead_ids))
            AND (f.old_status IS NULL OR lower(btrim(f.old_status)) = ANY(p_qualified))
    ),

    -- rule 3 input: a qualified current status ahead of a lagging history, from when it
    -- took effect
    lagging AS (
        SELECT g.lead_id, g.lagging_since
        FROM crm_remote.lead_status_lag AS g
        WHERE
            (p_lead_ids IS NULL OR g.lead_id = ANY(p_lead_ids))
            AND lower(btrim(g.status)) = ANY(p_qualified)
    )

    SELECT
        l.lead_id,
        coalesce(nullif(btrim(l.lead_source), ''), 'Unknown'),
        (l.created_at AT TIME ZONE p_timezone)::date,
        -- never before the created day; a lead with no qualification day stays NULL
        CASE
            WHEN qd.qualified_date IS NOT NULL
                THEN greatest(qd.qualified_date, (l.created_at AT TIME ZONE p_timezone)::date)
        END
    FROM crm_remote.leads AS l
    LEFT JOIN first_changes AS fc
        ON l.lead_id = fc.lead_id
    LEFT JOIN first_qualified_change AS q
        ON l.lead_id = q.lead_id
    LEFT JOIN lagging AS g
        ON l.lead_id = g.lead_id
    CROSS JOIN LATERAL (
        SELECT
            CASE
                -- rule 1a: it started qualified (its first history row's old_status, else
                -- its current status)
                WHEN lower(btrim(coalesce(fc.old_status, l.status))) = ANY(p_qualified)
                    AND fc.lead_id IS NOT NULL
                    THEN (l.created_at AT TIME ZONE p_timezone)::date
                WHEN q.qualified_at IS NOT NULL
                    THEN (q.qualified_at AT TIME ZONE p_timezone)::date
                -- rule 2
                WHEN
                    l.converted_date IS NOT NULL
                    AND (l.is_converted OR l.is_converted IS NULL)
                    THEN l.converted_date
                -- rule 3: a qualified current status, from when it took effect
                WHEN g.lagging_since IS NOT NULL
                    THEN (g.lagging_since AT TIME ZONE p_timezone)::date
                WHEN lower(btrim(l.status)) = ANY(p_qualified)
                    THEN (l.created_at AT TIME ZONE p_timezone)::date
            END AS qualified_date
    ) AS qd
    WHERE
        NOT l.is_deleted
        AND (p_lead_ids IS NULL OR l.lead_id = ANY(p_lead_ids));
END
$$;
COMMENT ON FUNCTION metrics.lead_qualification(text [], text, text []) IS
'Per lead (or every lead): source label, created day and qualification day, from the source.';
