-- 0002_grant_metrics_access: least-privilege access to the metrics database (revops_metrics).
--
-- revops_runner owns and writes metrics.* and reads crm_remote.* (through the FDW user mapping
-- that logs in to the source as revops_fdw_reader); revops_bi reads the fact tables and the BI views
-- (granted in grants.sql) only. revops_etl and revops_fdw_reader cannot connect here. Function EXECUTE rights are
-- granted by grants.sql after the repeatable files, on every bootstrap.
DO $grants$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO revops_runner', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO revops_bi', current_database());
END
$grants$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA metrics FROM PUBLIC;
REVOKE ALL ON SCHEMA crm_remote FROM PUBLIC;
ALTER SCHEMA metrics OWNER TO revops_runner;
ALTER SCHEMA crm_remote OWNER TO revops_runner;
GRANT USAGE ON SCHEMA metrics TO revops_bi;

ALTER TABLE metrics.settings OWNER TO revops_runner;
ALTER TABLE metrics.daily_lead_funnel OWNER TO revops_runner;
ALTER TABLE metrics.rep_daily_activity OWNER TO revops_runner;
ALTER TABLE metrics.rep_daily_pipeline OWNER TO revops_runner;
ALTER TABLE metrics.lead_stage_snapshot OWNER TO revops_runner;
ALTER TABLE metrics.run_log OWNER TO revops_runner;

GRANT SELECT ON metrics.daily_lead_funnel, metrics.rep_daily_activity, metrics.rep_daily_pipeline,
metrics.lead_stage_snapshot TO revops_bi;
