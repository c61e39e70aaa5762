-- 0003_index_metric_filters: indexes for the filters the metric functions send through
-- postgres_fdw (see db/metrics/functions): converted leads by converted_date (SQL candidates),
-- and a narrow covering index for activities whose day is their activity_date, so a backfill
-- aggregates them remotely from the index instead of reading the wide rows (raw jsonb).
CREATE INDEX leads_converted_date_idx ON crm.leads (converted_date)
WHERE converted_date IS NOT NULL;

CREATE INDEX activities_day_by_date_idx ON crm.activities (activity_date)
INCLUDE (owner_id, source_object, type, task_subtype, call_type, activity_at, is_child)
WHERE NOT is_deleted;
