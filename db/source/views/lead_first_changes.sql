-- crm.lead_first_changes: the first status-history row of every lead (by changed_at, then load
-- order), for the qualification-day rule "its created day when the status it started with is
-- qualified" (that status is the first row's old_status, else the lead's current status).
-- Grain: one row per lead with a non-deleted status history row.
-- Inputs: crm.lead_status_history (deleted rows never count).
-- Why NOT EXISTS rather than a window: a filter on old_status or lead_id (the funnel asks for
-- qualified or NULL old statuses, or for a few lead Ids) then runs first, and only those rows
-- probe the (lead_id, changed_at, history_seq) index for an earlier row.
CREATE OR REPLACE VIEW crm.lead_first_changes AS
SELECT
    h.lead_id,
    h.old_status,
    h.changed_at
FROM crm.lead_status_history AS h
WHERE
    NOT h.is_deleted
    AND NOT EXISTS (
        SELECT
        FROM crm.lead_status_history AS e
        WHERE
            e.lead_id = h.lead_id
            AND NOT e.is_deleted
            AND (e.changed_at, e.history_seq) < (h.changed_at, h.history_seq)
    );

COMMENT ON VIEW crm.lead_first_changes IS 'The first status-history row of each lead.';
GRANT SELECT ON crm.lead_first_changes TO revops_fdw_reader;
