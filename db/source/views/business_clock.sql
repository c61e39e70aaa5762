-- crm.business_clock: the business time zone of the current session, as the metrics database
-- passes it to every postgres_fdw connection (foreign server option
-- `options '-c revops.business_timezone=...'`, set from metrics.settings by `revops
-- bootstrap`). The metric functions read it back to check that the local
-- days computed by the views below are the days they ask for.
-- Grain: one row.
CREATE OR REPLACE VIEW crm.business_clock AS
SELECT current_setting('revops.business_timezone', true) AS business_timezone;

COMMENT ON VIEW crm.business_clock IS 'Business time zone of this session (revops.business_timezone).';
GRANT SELECT ON crm.business_clock TO revops_fdw_reader;
