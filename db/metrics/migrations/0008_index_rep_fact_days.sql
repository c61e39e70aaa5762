-- 0008_index_rep_fact_days: (rep_id, metric_date) indexes on the two rep fact tables, so the
-- rep dimension's first and last metric day per rep (metrics.refresh_dim_rep, every run) are
-- read from the ends of each rep's index range: a cost that follows the number of reps, not
-- the days of history every run would otherwise aggregate.
-- Grain: indexes only. Runs as the bootstrap admin; the tables belong to revops_owner, and so
-- do their indexes.
CREATE INDEX rep_daily_activity_rep_day_idx ON metrics.rep_daily_activity (rep_id, metric_date);
CREATE INDEX rep_daily_pipeline_rep_day_idx ON metrics.rep_daily_pipeline (rep_id, metric_date);
