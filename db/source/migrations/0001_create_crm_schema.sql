-- 0001_create_crm_schema: the source-of-truth mirror of the CRM (database revops_training).
--
-- Grain: one row per Salesforce record (keyed by its 18-character Id, or a text key for
-- hand-made exports), written only by the ETL role (revops_etl) through `revops ingest` or the
-- synthetic generator. Every table keeps the original record in `raw` (custom __c fields
-- included), the soft-delete flag, SystemModstamp (for last-writer-wins upserts), when and by
-- which batch it was loaded.
-- Why text keys: Salesforce Ids are case-sensitive base-62 strings; integer ids from hand-made
-- exports are accepted as their text.

CREATE SCHEMA IF NOT EXISTS crm;
COMMENT ON SCHEMA crm IS 'CRM mirror loaded from Salesforce-style exports; written by revops_etl only.';

-- One row per ingested file (or generator run): counts and checksum, so every record is
-- accounted for: records_in = records_loaded + records_rejected + records_skipped.
CREATE TABLE crm.ingest_batches (
    batch_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_name text NOT NULL,
    source_sha256 text,
    source_shape text,
    object_types text [] NOT NULL DEFAULT '{}',
    records_in integer NOT NULL DEFAULT 0,
    records_loaded integer NOT NULL DEFAULT 0,
    records_rejected integer NOT NULL DEFAULT 0,
    records_skipped integer NOT NULL DEFAULT 0,
    batch_status text NOT NULL DEFAULT 'running'
    CHECK (batch_status IN ('running', 'succeeded', 'failed')),
    details jsonb NOT NULL DEFAULT '{}',
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
COMMENT ON TABLE crm.ingest_batches IS 'One row per ingested file: checksum and record counts.';

-- Quarantine: a bad record never stops a file and is never dropped silently.
CREATE TABLE crm.load_errors (
    load_error_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id bigint REFERENCES crm.ingest_batches (batch_id),
    source_name text NOT NULL,
    record_position bigint,
    object_type text,
    reason text NOT NULL,
    raw_text text,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE crm.load_errors IS 'Quarantined records: file, position, object type, reason, raw text.';
CREATE INDEX load_errors_batch_idx ON crm.load_errors (batch_id);

CREATE TABLE crm.reps (
    rep_id text PRIMARY KEY,
    name text,
    email text,
    is_active boolean,
    manager_id text,
    created_at timestamptz,
    last_modified_at timestamptz,
    system_modstamp timestamptz,
    is_deleted boolean NOT NULL DEFAULT false,
    raw jsonb NOT NULL DEFAULT '{}',
    loaded_at timestamptz NOT NULL DEFAULT now(),
    batch_id bigint REFERENCES crm.ingest_batches (batch_id)
);
COMMENT ON TABLE crm.reps IS 'Salesforce User records (sales reps); one row per user Id.';

CREATE TABLE crm.accounts (
    account_id text PRIMARY KEY,
    name text,
    industry text,
    type text,
    owner_id text,
    created_at timestamptz,
    last_modified_at timestamptz,
    system_modstamp timestamptz,
    is_deleted boolean NOT NULL DEFAULT false,
    raw jsonb NOT NULL DEFAULT '{}',
    loaded_at timestamptz NOT NULL DEFAULT now(),
    batch_id bigint REFERENCES crm.ingest_batches (batch_id)
);
COMMENT ON TABLE crm.accounts IS 'Salesforce Account records; one row per account Id.';

CREATE TABLE crm.leads (
    lead_id text PRIMARY KEY,
    owner_id text,
    first_name text,
    last_name text,
    company text,
    email text,
    status text,
    lead_source text,
    created_at timestamptz,
    is_converted boolean,
    converted_date date,
    converted_opportunity_id text,
    converted_account_id text,
    converted_contact_id text,
    last_modified_at timestamptz,
    system_modstamp timestamptz,
    is_deleted boolean NOT NULL DEFAULT false,
    raw jsonb NOT NULL DEFAULT '{}',
    loaded_at timestamptz NOT NULL DEFAULT now(),
    batch_id bigint REFERENCES crm.ingest_batches (batch_id)
);
COMMENT ON TABLE crm.leads IS 'Salesforce Lead records; one row per lead Id.';
CREATE INDEX leads_created_at_idx ON crm.leads (created_at);
CREATE INDEX leads_converted_opportunity_idx ON crm.leads (converted_opportunity_id)
WHERE converted_opportunity_id IS NOT NULL;

CREATE TABLE crm.opportunities (
    opportunity_id text PRIMARY KEY,
    account_id text,
    owner_id text,
    name text,
    stage_name text,
    amount numeric,
    close_date date,
    is_closed boolean,
    is_won boolean,
    lead_source text,
    created_at timestamptz,
    last_modified_at timestamptz,
    system_modstamp timestamptz,
    is_deleted boolean NOT NULL DEFAULT false,
    raw jsonb NOT NULL DEFAULT '{}',
    loaded_at timestamptz NOT NULL DEFAULT now(),
    batch_id bigint REFERENCES crm.ingest_batches (batch_id)
);
COMMENT ON TABLE crm.opportunities IS 'Salesforce Opportunity records; one row per opportunity Id.';
CREATE INDEX opportunities_created_at_idx ON crm.opportunities (created_at);
CREATE INDEX opportunities_close_date_idx ON crm.opportunities (close_date);

-- Tasks and Events share one table: source_object says which.
CREATE TABLE crm.activities (
    activity_id text PRIMARY KEY,
    source_object text NOT NULL CHECK (source_object IN ('Task', 'Event')),
    owner_id text,
    who_id text,
    what_id text,
    subject text,
    type text,
    task_subtype text,
    call_type text,
    status text,
    activity_date date,
    activity_at timestamptz,
    is_child boolean NOT NULL DEFAULT false,
    created_at timestamptz,
    last_modified_at timestamptz,
    system_modstamp timestamptz,
    is_deleted boolean NOT NULL DEFAULT false,
    raw jsonb NOT NULL DEFAULT '{}',
    loaded_at timestamptz NOT NULL DEFAULT now(),
    batch_id bigint REFERENCES crm.ingest_batches (batch_id)
);
COMMENT ON TABLE crm.activities IS 'Salesforce Task and Event records; one row per activity Id.';
CREATE INDEX activities_activity_date_idx ON crm.activities (activity_date);
CREATE INDEX activities_activity_at_idx ON crm.activities (activity_at);
CREATE INDEX activities_created_at_idx ON crm.activities (created_at);

CREATE TABLE crm.interactions (
    interaction_id text PRIMARY KEY,
    lead_id text,
    contact_id text,
    campaign_id text,
    interaction_type text,
    status text,
    occurred_at timestamptz,
    created_at timestamptz,
    last_modified_at timestamptz,
    system_modstamp timestamptz,
    is_deleted boolean NOT NULL DEFAULT false,
    raw jsonb NOT NULL DEFAULT '{}',
    loaded_at timestamptz NOT NULL DEFAULT now(),
    batch_id bigint REFERENCES crm.ingest_batches (batch_id)
);
COMMENT ON TABLE crm.interactions IS 'CampaignMember-style touchpoints; one row per interaction Id.';
CREATE INDEX interactions_lead_idx ON crm.interactions (lead_id);

-- Lead status changes: LeadHistory rows (Field = Status) keep their Salesforce Id; a change
-- seen between two loads of the same lead gets a derived key (history_source = 'ingest').
CREATE TABLE crm.lead_status_history (
    history_id text PRIMARY KEY,
    lead_id text NOT NULL,
    changed_at timestamptz NOT NULL,
    old_status text,
    new_status text,
    history_source text NOT NULL DEFAULT 'LeadHistory'
    CHECK (history_source IN ('LeadHistory', 'ingest', 'generator')),
    history_seq bigint GENERATED ALWAYS AS IDENTITY,
    system_modstamp timestamptz,
    is_deleted boolean NOT NULL DEFAULT false,
    raw jsonb NOT NULL DEFAULT '{}',
    loaded_at timestamptz NOT NULL DEFAULT now(),
    batch_id bigint REFERENCES crm.ingest_batches (batch_id)
);
COMMENT ON TABLE crm.lead_status_history IS
'Lead status changes (LeadHistory Field = Status, and changes seen between loads).';
CREATE INDEX lead_status_history_lead_idx ON crm.lead_status_history (lead_id, changed_at);
CREATE INDEX lead_status_history_changed_at_idx ON crm.lead_status_history (changed_at);
