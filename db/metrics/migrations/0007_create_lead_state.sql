-- 0007_create_lead_state: the per-lead state the lead facts are maintained from.
--
-- daily_lead_funnel (total_leads_to_date, new_leads, sqls) and lead_stage_snapshot are sums
-- over leads. Each lead's part in them is fixed by a few derived values: its lead source
-- label, created day and qualification day (metrics.lead_state), and the days it held each
-- status (metrics.lead_segment_state). A run re-derives only the leads the change log names
-- (metrics.sync_lead_state), and adds the difference between their new and stored parts to
-- the stored facts over exactly the days and keys it moves; a new day is the previous day's
-- rows plus that day's steps. Both are exact because the facts are always the sums of the
-- stored state (the state is rebuilt whole, and the lead facts of every computed day
-- recomputed from it, when it was never built, the settings changed, a crm table was
-- truncated or unconsumed changes were pruned).
--
-- * metrics.lead_state: one row per non-deleted lead;
-- * metrics.lead_segment_state: one row per non-empty status segment of a non-deleted lead:
--   the lead held status at the end of the days [from_date, to_date) (to_date NULL: still);
-- * metrics.lead_state_sync (one row): the change-log horizon the state is synced to, and the
--   settings fingerprint it was derived under (NULL: never built);
-- * lead_stage_snapshot.created_day_sum: the sum of the counted leads' created days (days
--   since 2000-01-01), so the average age stays exact when leads are added or removed: avg =
--   round((lead_count * day - created_day_sum) / lead_count, 2). Existing rows get it when the
--   first run builds the state and recomputes the lead facts of every computed day.
-- Grain: see each table. Runs as the bootstrap admin; ownership goes to revops_owner.
CREATE TABLE metrics.lead_state (
    lead_id text PRIMARY KEY,
    lead_source text NOT NULL,
    created_date date NOT NULL,
    qualified_date date
);
COMMENT ON TABLE metrics.lead_state IS
'Per lead: funnel lead source label, created day and qualification day (business days).';
CREATE INDEX lead_state_created_idx ON metrics.lead_state (created_date, lead_source);
CREATE INDEX lead_state_qualified_idx ON metrics.lead_state (qualified_date, lead_source)
WHERE qualified_date IS NOT NULL;

CREATE TABLE metrics.lead_segment_state (
    lead_id text NOT NULL,
    status text NOT NULL,
    from_date date NOT NULL,
    to_date date,
    created_date date NOT NULL,
    CHECK (to_date IS NULL OR to_date > from_date)
);
COMMENT ON TABLE metrics.lead_segment_state IS
'Per lead: the status (label) it held at the end of the days [from_date, to_date).';
CREATE INDEX lead_segment_state_lead_idx ON metrics.lead_segment_state (lead_id);
CREATE INDEX lead_segment_state_from_idx ON metrics.lead_segment_state (from_date);
CREATE INDEX lead_segment_state_to_idx ON metrics.lead_segment_state (to_date)
WHERE to_date IS NOT NULL;

CREATE TABLE metrics.lead_state_sync (
    is_singleton boolean PRIMARY KEY DEFAULT true CHECK (is_singleton),
    synced_xmin bigint NOT NULL DEFAULT 0,
    settings_fingerprint text,
    synced_at timestamptz,
    built_at timestamptz
);
COMMENT ON TABLE metrics.lead_state_sync IS
'Lead state bookkeeping: change-log horizon it is synced to, settings it was derived under.';
INSERT INTO metrics.lead_state_sync DEFAULT VALUES;

ALTER TABLE metrics.lead_stage_snapshot ADD COLUMN created_day_sum bigint;
COMMENT ON COLUMN metrics.lead_stage_snapshot.created_day_sum IS
'Sum of the counted leads'' created days as days since 2000-01-01 (keeps avg_lead_age_days exact).';

ALTER TABLE metrics.lead_state OWNER TO revops_owner;
ALTER TABLE metrics.lead_segment_state OWNER TO revops_owner;
ALTER TABLE metrics.lead_state_sync OWNER TO revops_owner;

-- run_metrics_range gained p_refresh_dim_rep (metrics.run_due rebuilds the rep dimension once
-- per run, not once per range); the seven-argument form existed only before this release
DROP FUNCTION IF EXISTS metrics.run_metrics_range(date, date, text, text, text, jsonb, text []);
