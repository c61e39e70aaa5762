-- 0009_reshape_lead_qualification: metrics.lead_qualification returns the leads' status
-- segments, each with its lead's source label, created day and qualification day, from one
-- read of crm.lead_status_segments (metrics.sync_lead_state builds both lead state tables from
-- it); it returned one row per lead before. Same arguments, another result type: CREATE OR
-- REPLACE cannot change that, so the old form is dropped here and the repeatable file creates
-- the new one.
DROP FUNCTION IF EXISTS metrics.lead_qualification(text [], text, text []);
