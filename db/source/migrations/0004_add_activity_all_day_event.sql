-- 0004_add_activity_all_day_event: Event.IsAllDayEvent, and the lead columns the status
-- segments now read.
--
-- * crm.activities.is_all_day_event: Salesforce stores an all-day event's start as midnight
--   UTC, so west of UTC its StartDateTime falls on the previous local day; such events count on
--   their ActivityDate (crm.activity_days). Rows loaded before this column existed take the
--   flag from the record kept in raw (field names match case-insensitively, as ingest does).
-- * the covering index on live leads gains last_modified_at: crm.lead_status_segments uses it
--   to let the current status count from the lead's last modification when the LeadHistory
--   export lags behind it, and stays an index-only scan.
ALTER TABLE crm.activities ADD COLUMN is_all_day_event boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN crm.activities.is_all_day_event IS
'Event.IsAllDayEvent: the event counts on its activity_date (its start is midnight UTC).';

UPDATE crm.activities AS a
SET is_all_day_event = true
WHERE
    a.source_object = 'Event'
    AND EXISTS (
        SELECT
        FROM jsonb_each(a.raw) AS f (field_name, field_value)
        WHERE
            lower(replace(f.field_name, '_', '')) = 'isalldayevent'
            AND lower(f.field_value #>> '{}') IN ('true', '1')
    );

CREATE INDEX leads_live_status_modified_idx ON crm.leads (lead_id)
INCLUDE (created_at, status, last_modified_at)
WHERE NOT is_deleted;
DROP INDEX crm.leads_live_status_idx;
