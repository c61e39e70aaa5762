-- 0006_capture_lead_ids: change capture names the leads a write touched.
--
-- The metrics database keeps each lead's derived state (source, created day, qualification
-- day, status segments: metrics.lead_state) and brings the lead facts up to date by the
-- difference between a changed lead's stored and current state. For that it must know which
-- leads changed: every change_log row written for crm.leads or crm.lead_status_history now
-- carries the distinct lead Ids of the statement (old and new versions), one array per
-- statement (a bulk load adds one row, not one per lead).
-- Grain: unchanged (one row per statement and affected point).
-- Rows captured before this migration have no Ids: the metrics side treats unconsumed lead
-- changes without Ids as "every lead" (it rebuilds the lead state once).
ALTER TABLE crm.change_log ADD COLUMN lead_ids text [];
COMMENT ON COLUMN crm.change_log.lead_ids IS
'leads / lead_status_history: the distinct lead Ids the statement wrote (old and new rows).';
