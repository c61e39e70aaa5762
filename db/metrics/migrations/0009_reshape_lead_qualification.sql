-- 0009_reshape_lead_qualification: metrics.lead_qualification returns the leads' status
-- segments, each with its lead's source label, created day and qualification day, from one
-- read of crm.lead_status_segments (metrics.sync_lead_state builds both lead state tables from
-- it), and takes its days from the view instead of a time zone argument; it returned one row
-- per lead before, from four other relations. The old form (lead Ids, time zone, qualified
-- statuses) is dropped here; the repeatable file creates the new one (lead Ids, qualified
-- statuses).
-- Why as revops_owner: only the function's owner may drop it, and a non-superuser bootstrap
-- admin (RDS) may SET ROLE to it but, on 16+, does not inherit its privileges; the admin's
-- role is back for the migration bookkeeping that follows.
SET LOCAL ROLE revops_owner;
DROP FUNCTION IF EXISTS metrics.lead_qualification(text [], text, text []);
RESET ROLE;
