-- grants: function and view privileges in the metrics database, re-applied after the
-- repeatable files on every bootstrap (CREATE OR REPLACE keeps ACLs, new objects need them).
-- Only revops_runner may execute metrics functions (they write the fact tables); revops_bi
-- reads the fact tables (granted in migration 0002) and the views here.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA metrics FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA metrics TO revops_runner;

ALTER VIEW metrics.freshness OWNER TO revops_runner;
GRANT SELECT ON metrics.freshness TO revops_bi;

ALTER VIEW metrics.data_quality OWNER TO revops_runner;
GRANT SELECT ON metrics.data_quality TO revops_bi;
-- pure helpers the BI views call (function privileges are checked as the querying role)
GRANT EXECUTE ON FUNCTION metrics.rep_bucket(text), metrics.rep_label(text, text) TO revops_bi;
