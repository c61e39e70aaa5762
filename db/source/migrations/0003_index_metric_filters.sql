-- 0003_index_metric_filters: indexes for what the metric functions ask the source database
-- through postgres_fdw (see db/metrics/functions and db/source/views):
-- * converted leads by converted_date: the daily funnel's SQL candidates;
-- * live leads by created_at with their source: "leads before the day" per source and new
--   leads per day, answered from the index alone;
-- * narrow covering indexes in (lead_id, ...) order for crm.lead_status_segments, so its window
--   over the status history and its joins to leads run as ordered index-only scans instead of
--   sorting and reading the wide rows (raw jsonb) on every snapshot.
CREATE INDEX leads_converted_date_idx ON crm.leads (converted_date)
WHERE converted_date IS NOT NULL;

CREATE INDEX leads_live_created_idx ON crm.leads (created_at)
INCLUDE (lead_source)
WHERE NOT is_deleted;

CREATE INDEX leads_live_status_idx ON crm.leads (lead_id)
INCLUDE (created_at, status)
WHERE NOT is_deleted;

CREATE INDEX lead_status_history_live_order_idx ON crm.lead_status_history (
    lead_id, changed_at, history_seq
)
INCLUDE (old_status, new_status)
WHERE NOT is_deleted;
