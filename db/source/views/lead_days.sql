-- crm.lead_days: non-deleted leads with the local business day they were created, so counts
-- per day can be aggregated remotely (postgres_fdw will not ship the time zone conversion).
-- Grain: one row per non-deleted lead.
-- Inputs: crm.leads; the session's revops.business_timezone (see crm.business_clock).
CREATE OR REPLACE VIEW crm.lead_days AS
SELECT
    l.lead_id,
    l.lead_source,
    l.created_at,
    (l.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date AS created_date
FROM crm.leads AS l
WHERE NOT l.is_deleted;

COMMENT ON VIEW crm.lead_days IS 'Non-deleted leads with their business created day.';
GRANT SELECT ON crm.lead_days TO revops_fdw_reader;
