-- crm.opportunity_days: non-deleted opportunities with the local business day they were
-- created and the lead source the funnel reports them under, for remote aggregation.
-- Grain: one row per non-deleted opportunity.
-- Inputs: crm.opportunities, crm.leads; the session's revops.business_timezone.
-- funnel_lead_source: the opportunity's own lead source, else that of the lead converted into
-- it (the earliest such lead with a non-blank source), trimmed, else 'Unknown'.
CREATE OR REPLACE VIEW crm.opportunity_days AS
SELECT
    o.opportunity_id,
    o.owner_id,
    o.amount,
    o.created_at,
    (o.created_at AT TIME ZONE current_setting('revops.business_timezone'))::date AS created_date,
    coalesce(
        nullif(btrim(o.lead_source), ''),
        (
            SELECT nullif(btrim(l.lead_source), '')
            FROM crm.leads AS l
            WHERE
                l.converted_opportunity_id = o.opportunity_id
                AND NOT l.is_deleted
            ORDER BY (nullif(btrim(l.lead_source), '') IS NULL), l.created_at, l.lead_id
            LIMIT 1
        ),
        'Unknown'
    ) AS funnel_lead_source
FROM crm.opportunities AS o
WHERE NOT o.is_deleted;

COMMENT ON VIEW crm.opportunity_days IS
'Non-deleted opportunities with their business created day and funnel lead source.';
GRANT SELECT ON crm.opportunity_days TO revops_fdw_reader;
