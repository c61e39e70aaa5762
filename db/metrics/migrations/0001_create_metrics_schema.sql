-- 0001_create_metrics_schema: settings, the four daily fact tables and the run log
-- (database revops_metrics).
--
-- Grain: each fact table has one row per metric_date and its dimension (lead source, rep,
-- status); the primary keys enforce the grain. run_log has one row per attempt to compute a day.
-- Inputs: none (the facts are filled by the metrics.* functions from crm_remote.*).
-- Why revops_runner owns the tables: it is the only role that writes them; revops_bi reads.

CREATE SCHEMA IF NOT EXISTS metrics;
COMMENT ON SCHEMA metrics IS 'Daily RevOps fact tables, run log, settings and the functions that fill them.';
CREATE SCHEMA IF NOT EXISTS crm_remote;
COMMENT ON SCHEMA crm_remote IS 'Foreign tables imported from the source database schema crm (read-only).';

CREATE TABLE metrics.settings (
    setting_name text PRIMARY KEY,
    setting_value jsonb NOT NULL,
    description text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.settings IS 'Metric settings: business time zone, qualified statuses, lookback.';

INSERT INTO metrics.settings (setting_name, setting_value, description)
VALUES
(
    'business_timezone', '"UTC"',
    'IANA time zone whose calendar days are the metric days (e.g. America/New_York).'
),
(
    'qualified_statuses', '["Qualified", "SQL", "Sales Qualified", "Closed - Converted"]',
    'Lead statuses that mean sales-qualified (compared case-insensitively, trimmed).'
),
('lookback_days', '3', 'revops run recomputes this many days ending yesterday.'),
(
    'missing_day_horizon_days', '30',
    'revops run also computes any day of this many recent days with no successful run.'
),
('freshness_max_lag_days', '2', 'status/check fail when the newest successful day is older.')
ON CONFLICT (setting_name) DO NOTHING;

CREATE TABLE metrics.daily_lead_funnel (
    metric_date date NOT NULL,
    lead_source text NOT NULL,
    total_leads_to_date bigint NOT NULL,
    new_leads bigint NOT NULL,
    sqls bigint NOT NULL,
    opportunities_created bigint NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (metric_date, lead_source)
);
COMMENT ON TABLE metrics.daily_lead_funnel IS
'Lead funnel: one row per metric_date and lead source.';

CREATE TABLE metrics.rep_daily_activity (
    metric_date date NOT NULL,
    rep_id text NOT NULL,
    rep_name text NOT NULL,
    calls bigint NOT NULL,
    emails bigint NOT NULL,
    meetings bigint NOT NULL,
    total_activities bigint NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (metric_date, rep_id)
);
COMMENT ON TABLE metrics.rep_daily_activity IS
'Rep activity: one row per metric_date and rep with at least one activity that day.';

CREATE TABLE metrics.rep_daily_pipeline (
    metric_date date NOT NULL,
    rep_id text NOT NULL,
    rep_name text NOT NULL,
    opportunities_created bigint NOT NULL,
    pipeline_amount_created numeric NOT NULL,
    closed_won_opportunities bigint NOT NULL,
    revenue_won numeric NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (metric_date, rep_id)
);
COMMENT ON TABLE metrics.rep_daily_pipeline IS
'Rep pipeline: one row per metric_date and rep with any non-zero measure that day.';

CREATE TABLE metrics.lead_stage_snapshot (
    metric_date date NOT NULL,
    status text NOT NULL,
    lead_count bigint NOT NULL,
    avg_lead_age_days numeric(12, 2) NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (metric_date, status)
);
COMMENT ON TABLE metrics.lead_stage_snapshot IS
'Lead stage snapshot: one row per metric_date and lead status as of the end of that day.';

CREATE TABLE metrics.run_log (
    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    metric_date date NOT NULL,
    status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    trigger text NOT NULL CHECK (trigger IN ('systemd', 'github', 'manual', 'backfill')),
    host text,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    rows_written jsonb NOT NULL DEFAULT '{}',
    error_text text,
    code_version text
);
COMMENT ON TABLE metrics.run_log IS 'One row per attempt to compute a metric day.';
CREATE INDEX run_log_metric_date_idx ON metrics.run_log (metric_date, status);
CREATE INDEX run_log_started_at_idx ON metrics.run_log (started_at);
