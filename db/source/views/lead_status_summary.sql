-- crm.lead_status_summary: what the qualification-day rule needs of each lead, one row per
-- non-deleted lead, computed next to the data (one aggregate over the status history) so the
-- lead funnel reads it in one pass instead of placing every status segment.
-- Grain: one row per non-deleted lead.
-- Inputs: crm.leads, crm.lead_status_history (deleted rows never count).
-- start_status: with a status history, the status the lead started with: its first history
-- row's old_status, else (that row does not say) its current status; NULL without history.
-- lagging_since: the lead's last_modified_at when its current status differs from the last
-- history value and it was modified after that change (the LeadHistory export lags); else NULL.
-- Ties in changed_at are broken by load order (history_seq), as in crm.lead_status_segments.
CREATE OR REPLACE VIEW crm.lead_status_summary AS
SELECT
    l.lead_id,
    l.lead_source,
    l.created_at,
    l.status,
    l.is_converted,
    l.converted_date,
    l.last_modified_at,
    CASE WHEN h.last_changed_at IS NOT NULL THEN coalesce(h.first_old_status, l.status) END
        AS start_status,
    CASE
        WHEN
            l.last_modified_at > h.last_changed_at
            AND nullif(btrim(l.status), '') IS DISTINCT FROM nullif(btrim(h.last_new_status), '')
            THEN l.last_modified_at
    END AS lagging_since
FROM crm.leads AS l
-- per lead (an index-only scan of its history), so a filter on lead_id stays cheap
LEFT JOIN LATERAL (
    SELECT
        (array_agg(sh.old_status ORDER BY sh.changed_at, sh.history_seq))[1] AS first_old_status,
        (array_agg(sh.new_status ORDER BY sh.changed_at DESC, sh.history_seq DESC))[1]
            AS last_new_status,
        max(sh.changed_at) AS last_changed_at
    FROM crm.lead_status_history AS sh
    WHERE sh.lead_id = l.lead_id AND NOT sh.is_deleted
) AS h ON true
WHERE NOT l.is_deleted;

COMMENT ON VIEW crm.lead_status_summary IS
'Per lead: the status it started with and whether its current status is ahead of its history.';
GRANT SELECT ON crm.lead_status_summary TO revops_fdw_reader;
