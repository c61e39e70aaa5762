-- grants: privileges in the metrics database, re-applied (as revops_owner, who owns every
-- object here) after the repeatable files on every bootstrap: CREATE OR REPLACE keeps ACLs,
-- new objects need them, and anything granted by hand is taken back.
--
-- revops_runner: USAGE on schema metrics and EXECUTE on the entry points below, nothing else.
-- Every entry point is SECURITY DEFINER (runs as revops_owner) with a pinned search_path, so the
-- runner reads and writes nothing directly, owns nothing, and never reaches crm_remote or the
-- foreign server's user mapping. The helpers they call (run_metrics_range, begin_refresh,
-- lock_metrics, source_timezone, ...) are not executable by it.
-- revops_bi: SELECT on the fact tables, the dimensions (dim_date, dim_rep) and the BI views
-- (freshness, data_quality, bi_*) only, plus EXECUTE on the two pure naming helpers
-- data_quality calls (function privileges are checked as the querying role; the dimensions
-- and bi_* views call no metrics function).
REVOKE ALL ON SCHEMA metrics FROM PUBLIC;
REVOKE ALL ON SCHEMA crm_remote FROM PUBLIC;
GRANT USAGE ON SCHEMA metrics TO revops_runner, revops_bi;

REVOKE ALL ON ALL TABLES IN SCHEMA metrics FROM PUBLIC, revops_runner, revops_bi;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA metrics FROM PUBLIC, revops_runner, revops_bi;
REVOKE ALL ON ALL TABLES IN SCHEMA crm_remote FROM PUBLIC, revops_runner, revops_bi;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA metrics FROM PUBLIC, revops_runner, revops_bi;

GRANT EXECUTE ON FUNCTION
metrics.run_daily_metrics(date, text, text, text),
metrics.run_due(text, text, text, date [], integer, integer, boolean),
metrics.verify_range(date, date, integer),
metrics.pending_report(),
metrics.backfill_date_range(date, date, text, text, text),
metrics.backfill_last_n_days(integer, text, text, text),
metrics.refresh_daily_lead_funnel(date, date),
metrics.refresh_rep_daily_activity(date, date),
metrics.refresh_rep_daily_pipeline(date, date),
metrics.refresh_lead_stage_snapshot(date, date),
metrics.days_due(integer, integer),
metrics.days_succeeded(date, date),
metrics.check_date_range(date, date),
metrics.business_today(),
metrics.business_timezone(),
metrics.setting(text),
metrics.recent_runs(integer),
metrics.freshness_report(),
metrics.data_quality_report(),
metrics.record_data_quality(text)
TO revops_runner;

GRANT SELECT ON
metrics.daily_lead_funnel,
metrics.rep_daily_activity,
metrics.rep_daily_pipeline,
metrics.lead_stage_snapshot,
metrics.freshness,
metrics.data_quality,
metrics.dim_date,
metrics.dim_rep,
metrics.bi_funnel_conversion,
metrics.bi_rep_scorecard,
metrics.bi_daily_totals,
metrics.bi_pipeline_freshness,
metrics.data_quality_history
TO revops_bi;
GRANT EXECUTE ON FUNCTION metrics.rep_bucket(text), metrics.rep_label(text, text) TO revops_bi;
