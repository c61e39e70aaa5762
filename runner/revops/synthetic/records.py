"""Synthetic rows back into the Salesforce records they stand for: Salesforce field names per
object type, the custom fields of ``raw`` kept, values spelled as JSON and bulk exports spell them."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from revops.synthetic.calendar import sf_datetime
from revops.synthetic.rows import SyntheticCrm
from revops.synthetic.schema import COLUMNS, TABLES, Row

# Salesforce field -> crm column, per object type. The first field is the Id.
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "User": (("Id", "rep_id"), ("Name", "name"), ("Email", "email"), ("IsActive", "is_active"),
             ("ManagerId", "manager_id")),
    "Account": (("Id", "account_id"), ("Name", "name"), ("Industry", "industry"),
                ("Type", "type"), ("OwnerId", "owner_id")),
    "Lead": (("Id", "lead_id"), ("OwnerId", "owner_id"), ("FirstName", "first_name"),
             ("LastName", "last_name"), ("Company", "company"), ("Email", "email"),
             ("Status", "status"), ("LeadSource", "lead_source"),
             ("IsConverted", "is_converted"), ("ConvertedDate", "converted_date"),
             ("ConvertedOpportunityId", "converted_opportunity_id"),
             ("ConvertedAccountId", "converted_account_id"),
             ("ConvertedContactId", "converted_contact_id")),
    "LeadHistory": (("Id", "history_id"), ("LeadId", "lead_id"), ("OldValue", "old_status"),
                    ("NewValue", "new_status"), ("CreatedDate", "changed_at"),
                    ("SystemModstamp", "system_modstamp"), ("IsDeleted", "is_deleted")),
    "CampaignMember": (("Id", "interaction_id"), ("LeadId", "lead_id"),
                       ("ContactId", "contact_id"), ("CampaignId", "campaign_id"),
                       ("Status", "status")),
    "Opportunity": (("Id", "opportunity_id"), ("AccountId", "account_id"),
                    ("OwnerId", "owner_id"), ("Name", "name"), ("StageName", "stage_name"),
                    ("Amount", "amount"), ("CloseDate", "close_date"),
                    ("IsClosed", "is_closed"), ("IsWon", "is_won"),
                    ("LeadSource", "lead_source")),
    "Task": (("Id", "activity_id"), ("OwnerId", "owner_id"), ("WhoId", "who_id"),
             ("WhatId", "what_id"), ("Subject", "subject"), ("Type", "type"),
             ("TaskSubtype", "task_subtype"), ("CallType", "call_type"), ("Status", "status"),
             ("ActivityDate", "activity_date")),
    "Event": (("Id", "activity_id"), ("OwnerId", "owner_id"), ("WhoId", "who_id"),
              ("WhatId", "what_id"), ("Subject", "subject"), ("Type", "type"),
              ("ActivityDate", "activity_date"), ("ActivityDateTime", "activity_at"),
              ("IsChild", "is_child")),
}  # fmt: skip
_AUDIT = (("CreatedDate", "created_at"), ("LastModifiedDate", "last_modified_at"),
          ("SystemModstamp", "system_modstamp"), ("IsDeleted", "is_deleted"))  # fmt: skip
OBJECTS_OF = {
    "reps": ("User",),
    "accounts": ("Account",),
    "leads": ("Lead",),
    "lead_status_history": ("LeadHistory",),
    "interactions": ("CampaignMember",),
    "opportunities": ("Opportunity",),
    "activities": ("Task", "Event"),
}
OBJECT_TYPES = tuple(o for t in TABLES for o in OBJECTS_OF[t])
# Lookups that a tree export writes as @ref<Id> when the record they name is in the export.
TREE_LOOKUPS = frozenset({"OwnerId", "ManagerId", "AccountId", "ConvertedOpportunityId",
                           "ConvertedAccountId", "LeadId", "WhoId", "WhatId"})  # fmt: skip
OWNED = frozenset({"Account", "Lead", "Opportunity", "Task", "Event"})

Record = dict[str, Any]


def _plan(object_type: str, table: str) -> tuple[tuple[str, int], ...]:
    """(field, column index) pairs of one object type, audit fields included."""
    index = {c: k for k, c in enumerate(COLUMNS[table])}
    pairs = list(FIELDS[object_type])
    names = {f for f, _ in pairs}
    pairs += [(f, c) for f, c in _AUDIT if f not in names and c in index]
    return tuple((f, index[c]) for f, c in pairs)


_PLANS = {o: _plan(o, t) for t, objects in OBJECTS_OF.items() for o in objects}


@functools.cache
def _norm(name: str) -> str:
    """A field name as ingest matches it: case-insensitive, underscores ignored."""
    return name.lower().replace("_", "")


_RAW = {t: COLUMNS[t].index("raw") for t in TABLES}
_TAKEN = {
    o: frozenset(_norm(f) for f, _ in _PLANS[o]) | frozenset(_norm(c) for c in COLUMNS[t])
    for t, objects in OBJECTS_OF.items()
    for o in objects
}


def records(gen: SyntheticCrm, table: str) -> Iterator[tuple[str, Record]]:
    """(object type, record) for every row of one table, with typed Python values.

    The custom and extra fields of ``raw`` (``Region__c``, ``Title``, LeadHistory's ``Field``)
    follow the mapped ones; ``attributes`` is left to each format.
    """
    objects = OBJECTS_OF[table]
    source = COLUMNS[table].index("source_object") if table == "activities" else None
    for row in gen.rows(table):
        object_type = objects[0] if source is None else row[source]
        yield object_type, to_record(object_type, table, row)


def to_record(object_type: str, table: str, row: Row) -> Record:
    """One row (``COLUMNS[table]`` order) as its Salesforce record: the mapped fields, then the
    fields of ``raw`` that name no mapped field in any spelling ingest accepts (``Region__c``
    stays; a stale ``lead_source`` or ``STATUS`` copy in raw never competes with ``LeadSource``)."""
    record: Record = {name: row[k] for name, k in _PLANS[object_type]}
    taken = _TAKEN[object_type]
    raw: Mapping[str, Any] | None = row[_RAW[table]]
    for name, value in (raw or {}).items():
        if name != "attributes" and name not in record and _norm(name) not in taken:
            record[name] = value
    return record


# -- values ----------------------------------------------------------------------------------
def json_value(value: Any) -> Any:
    """A value as a JSON export writes it (Salesforce datetime spelling, numbers as numbers)."""
    if isinstance(value, dt.datetime):
        return sf_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def bulk_value(value: Any) -> str:
    """A value as a bulk export writes it: always a string, ``""`` for NULL."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
