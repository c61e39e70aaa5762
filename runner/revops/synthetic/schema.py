"""The crm tables the generator writes: their columns in COPY order, and load order."""

from __future__ import annotations

from typing import Any

Row = tuple[Any, ...]

COLUMNS: dict[str, tuple[str, ...]] = {
    "reps": ("rep_id", "name", "email", "is_active", "manager_id", "created_at",
             "last_modified_at", "system_modstamp", "is_deleted", "raw", "batch_id"),
    "accounts": ("account_id", "name", "industry", "type", "owner_id", "created_at",
                 "last_modified_at", "system_modstamp", "is_deleted", "raw", "batch_id"),
    "leads": ("lead_id", "owner_id", "first_name", "last_name", "company", "email", "status",
              "lead_source", "created_at", "is_converted", "converted_date",
              "converted_opportunity_id", "converted_account_id", "converted_contact_id",
              "last_modified_at", "system_modstamp", "is_deleted", "raw", "batch_id"),
    "lead_status_history": ("history_id", "lead_id", "changed_at", "old_status", "new_status",
                            "history_source", "system_modstamp", "is_deleted", "raw",
                            "batch_id"),
    "interactions": ("interaction_id", "lead_id", "contact_id", "campaign_id",
                     "interaction_type", "status", "occurred_at", "created_at",
                     "last_modified_at", "system_modstamp", "is_deleted", "raw", "batch_id"),
    "opportunities": ("opportunity_id", "account_id", "owner_id", "name", "stage_name",
                      "amount", "close_date", "is_closed", "is_won", "lead_source",
                      "created_at", "last_modified_at", "system_modstamp", "is_deleted", "raw",
                      "batch_id"),
    "activities": ("activity_id", "source_object", "owner_id", "who_id", "what_id", "subject",
                   "type", "task_subtype", "call_type", "status", "activity_date",
                   "activity_at", "is_child", "created_at", "last_modified_at",
                   "system_modstamp", "is_deleted", "raw", "batch_id"),
}  # fmt: skip
TABLES = tuple(COLUMNS)  # load order
CRM_TABLES = (*TABLES, "load_errors", "ingest_batches")
OBJECT_TYPES = ["User", "Account", "Lead", "LeadHistory", "CampaignMember", "Opportunity",
                "Task", "Event"]  # fmt: skip
