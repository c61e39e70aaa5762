-- crm.lead_status_lag: leads whose current status is ahead of their status history: the lead
-- was modified after its last history row and its status differs from that row's new_status
-- (the LeadHistory export lags). From lagging_since (the lead's last_modified_at) the current
-- status is the lead's status, for the snapshot and the qualification-day rule.
-- Grain: one row per non-deleted lead that lags.
-- Inputs: crm.leads, crm.lead_status_history (deleted rows never count).
-- Why a lateral top-1 lookup: a filter on the lead's status (the funnel asks for qualified
-- ones) or Id runs first, and each remaining lead reads one index entry of its history.
CREATE OR REPLACE VIEW crm.lead_status_lag AS
SELECT
    l.lead_id,
    l.status,
    l.last_modified_at AS lagging_since
FROM crm.leads AS l
CROSS JOIN LATERAL (
    SELECT
        h.changed_at,
        h.new_status
    FROM crm.lead_status_history AS h
    WHERE h.lead_id = l.lead_id AND NOT h.is_deleted
    ORDER BY h.changed_at DESC, h.history_seq DESC
    LIMIT 1
) AS last_change
WHERE
    NOT l.is_deleted
    AND l.last_modified_at > last_change.changed_at
    AND nullif(btrim(l.status), '') IS DISTINCT FROM nullif(btrim(last_change.new_status), '');

COMMENT ON VIEW crm.lead_status_lag IS 'Leads whose current status is ahead of their status history.';
GRANT SELECT ON crm.lead_status_lag TO revops_fdw_reader;
