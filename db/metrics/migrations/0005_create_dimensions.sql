-- 0005_create_dimensions: the rep dimension table and the fiscal calendar setting (dim_date).
--
-- * metrics.dim_rep: one row per reporting rep_id (a User of crm.reps, an owner Id the facts
--   hold that crm.reps lacks ('Unknown'), and the queue bucket '-1' ('Unassigned')), rebuilt by
--   metrics.refresh_dim_rep at the end of every engine call (metrics.run_metrics_range), so the
--   ordinary run, run_daily_metrics and backfills maintain it in the transaction that writes
--   the facts. Why a table, not a view: it joins crm_remote.reps, and a view over a foreign
--   table would send every dashboard query (as revops_bi, through the owner's mapping) to the
--   source database; BI reads the metrics database only.
-- * setting fiscal_year_start_month (1..12, default 1): the month the fiscal year starts in;
--   metrics.dim_date (a view) reads it on every query, so a change shows at once. A CHECK keeps
--   it a whole month number, so the calendar never computes nonsense from a typo.
-- Grain: dim_rep has one row per rep_id. Runs as the bootstrap admin; ownership goes to
-- revops_owner (grants to revops_bi are in grants.sql).
CREATE TABLE metrics.dim_rep (
    rep_id text PRIMARY KEY,
    rep_name text NOT NULL,
    rep_kind text NOT NULL CHECK (rep_kind IN ('user', 'unknown', 'unassigned')),
    email text,
    is_active boolean,
    is_deleted boolean,
    manager_id text,
    manager_name text,
    role_name text,
    team_name text,
    department text,
    title text,
    division text,
    first_metric_date date,
    last_metric_date date,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.dim_rep IS
'Rep dimension: one row per reporting rep_id (Users, Unknown owners, -1 Unassigned).';

INSERT INTO metrics.settings (setting_name, setting_value, description)
VALUES (
    'fiscal_year_start_month', '1',
    'Month (1-12) the fiscal year starts in; fiscal years are named by the year they end in.'
)
ON CONFLICT (setting_name) DO NOTHING;

ALTER TABLE metrics.settings
ADD CONSTRAINT settings_fiscal_year_start_month_check CHECK (
    setting_name <> 'fiscal_year_start_month'
    OR (
        jsonb_typeof(setting_value) = 'number'
        AND setting_value::text ~ '^([1-9]|1[0-2])$'
    )
);

ALTER TABLE metrics.dim_rep OWNER TO revops_owner;
