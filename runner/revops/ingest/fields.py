"""Field maps: one Salesforce record (a parsed JSON object) -> one ``crm`` row.

Field names match case-insensitively with ``_`` ignored, so ``LeadSource``, ``leadsource`` and
``lead_source`` are one field; the canonical column names (``created_at``, ``stage_name``, ...)
are accepted as aliases too. Unknown and custom (``__c``) fields, relationship columns such as
``Owner.Name`` and ``attributes`` stay in ``raw``, which is the original record unchanged.

A record is rejected when it has no usable Id, when a date, datetime or number field it maps
cannot be parsed, or when PostgreSQL could not store it (NUL characters, ...). Recoverable oddities
are stored and *flagged* (counted per field in ``ingest_batches.details``): a date given as a
datetime, an unparseable boolean (stored NULL), an unusable lookup Id (stored NULL).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from revops.ingest import ids, values
from revops.ingest.objects import TABLE_OF
from revops.ingest.rawjson import Unstorable, to_json

PG_TYPES = {
    "id": "text",
    "text": "text",
    "bool": "boolean",
    "number": "numeric",
    "date": "date",
    "datetime": "timestamptz",
    "const": "text",
}


@lru_cache(maxsize=8192)
def norm_key(name: str) -> str:
    return name.lower().replace("_", "")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    sources: tuple[str, ...]

    @cached_property
    def keys(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for source in (*self.sources, self.name):
            seen.setdefault(norm_key(source), None)
        return tuple(seen)


@dataclass(frozen=True)
class TableSpec:
    table: str
    columns: tuple[Column, ...]  # the first is the primary key

    @property
    def key(self) -> str:
        return self.columns[0].name

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _common() -> tuple[Column, ...]:
    return (
        Column("created_at", "datetime", ("CreatedDate",)),
        Column("last_modified_at", "datetime", ("LastModifiedDate",)),
        Column("system_modstamp", "datetime", ("SystemModstamp",)),
        Column("is_deleted", "bool", ("IsDeleted",)),
    )


SPECS: dict[str, TableSpec] = {
    spec.table: spec
    for spec in (
        TableSpec(
            "reps",
            (
                Column("rep_id", "id", ("Id", "user_id")),
                Column("name", "text", ("Name",)),
                Column("email", "text", ("Email",)),
                Column("is_active", "bool", ("IsActive",)),
                Column("manager_id", "id", ("ManagerId",)),
                *_common(),
            ),
        ),
        TableSpec(
            "accounts",
            (
                Column("account_id", "id", ("Id",)),
                Column("name", "text", ("Name",)),
                Column("industry", "text", ("Industry",)),
                Column("type", "text", ("Type",)),
                Column("owner_id", "id", ("OwnerId",)),
                *_common(),
            ),
        ),
        TableSpec(
            "leads",
            (
                Column("lead_id", "id", ("Id",)),
                Column("owner_id", "id", ("OwnerId",)),
                Column("first_name", "text", ("FirstName",)),
                Column("last_name", "text", ("LastName",)),
                Column("company", "text", ("Company",)),
                Column("email", "text", ("Email",)),
                Column("status", "text", ("Status",)),
                Column("lead_source", "text", ("LeadSource",)),
                Column("is_converted", "bool", ("IsConverted",)),
                Column("converted_date", "date", ("ConvertedDate",)),
                Column("converted_opportunity_id", "id", ("ConvertedOpportunityId",)),
                Column("converted_account_id", "id", ("ConvertedAccountId",)),
                Column("converted_contact_id", "id", ("ConvertedContactId",)),
                *_common(),
            ),
        ),
        TableSpec(
            "opportunities",
            (
                Column("opportunity_id", "id", ("Id",)),
                Column("account_id", "id", ("AccountId",)),
                Column("owner_id", "id", ("OwnerId",)),
                Column("name", "text", ("Name",)),
                Column("stage_name", "text", ("StageName",)),
                Column("amount", "number", ("Amount",)),
                Column("close_date", "date", ("CloseDate",)),
                Column("is_closed", "bool", ("IsClosed",)),
                Column("is_won", "bool", ("IsWon",)),
                Column("lead_source", "text", ("LeadSource",)),
                *_common(),
            ),
        ),
        TableSpec(
            "activities",
            (
                Column("activity_id", "id", ("Id", "task_id", "event_id")),
                Column("source_object", "const", ()),
                Column("owner_id", "id", ("OwnerId",)),
                Column("who_id", "id", ("WhoId",)),
                Column("what_id", "id", ("WhatId",)),
                Column("subject", "text", ("Subject",)),
                Column("type", "text", ("Type",)),
                Column("task_subtype", "text", ("TaskSubtype",)),
                Column("call_type", "text", ("CallType",)),
                Column("status", "text", ("Status",)),
                Column("activity_date", "date", ("ActivityDate",)),
                Column("activity_at", "datetime", ("ActivityDateTime", "StartDateTime")),
                Column("is_child", "bool", ("IsChild",)),
                *_common(),
            ),
        ),
        TableSpec(
            "interactions",
            (
                Column("interaction_id", "id", ("Id", "campaign_member_id")),
                Column("lead_id", "id", ("LeadId",)),
                Column("contact_id", "id", ("ContactId",)),
                Column("campaign_id", "id", ("CampaignId",)),
                Column("interaction_type", "text", ("InteractionType",)),
                Column("status", "text", ("Status",)),
                Column("occurred_at", "datetime", ("OccurredAt",)),
                *_common(),
            ),
        ),
        TableSpec(
            "lead_status_history",
            (
                Column("history_id", "id", ("Id",)),
                Column("lead_id", "id", ("LeadId",)),
                Column("changed_at", "datetime", ("CreatedDate",)),
                Column("old_status", "text", ("OldValue",)),
                Column("new_status", "text", ("NewValue",)),
                Column("history_source", "const", ()),
                Column("system_modstamp", "datetime", ("SystemModstamp",)),
                Column("is_deleted", "bool", ("IsDeleted",)),
            ),
        ),
    )
}


@dataclass
class Row:
    """A mapped record: staging values in ``SPECS[table].column_names`` order, plus raw."""

    table: str
    values: tuple[Any, ...]
    raw: str
    flags: list[str] = field(default_factory=list)
    refs_used: list[str] = field(default_factory=list)


@dataclass
class Reject:
    reason: str


@dataclass
class Skip:
    reason: str


Outcome = Row | Reject | Skip


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _lookup(record: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """Normalised field name -> (name as written, value); the first non-blank spelling wins."""
    found: dict[str, tuple[str, Any]] = {}
    for name, value in record.items():
        key = norm_key(name)
        if key not in found or values.is_blank(found[key][1]):
            found[key] = (name, value)
    return found


def _get(found: Mapping[str, tuple[str, Any]], column: Column) -> tuple[str, Any]:
    for key in column.keys:
        if key in found and not values.is_blank(found[key][1]):
            return found[key]
    return column.sources[0] if column.sources else column.name, None


@dataclass(frozen=True)
class TreeScope:
    """How a tree record's Ids are recovered: the export it belongs to (see :mod:`ids`)."""

    scope: str


def _id_value(value: object, tree: TreeScope | None, out: Row) -> str | None:
    if tree is not None and isinstance(value, str) and value.startswith("@"):
        out.refs_used.append(value[1:].strip())
        return ids.resolve_ref(value, tree.scope)
    return ids.normalise_id(value)


def map_record(record: Mapping[str, Any], object_type: str, tree: TreeScope | None) -> Outcome:
    """Map one record of a known object type; raises nothing for any JSON input."""
    table = TABLE_OF[object_type]
    spec = SPECS[table]
    found = _lookup(record)
    row = Row(table, (), "")
    out: list[Any] = []
    reference_id = _reference_id(record)
    for index, column in enumerate(spec.columns):
        kind = column.kind
        name, value = _get(found, column)
        if value is None and index and kind != "const":
            out.append(None)  # absent or blank: NULL for every kind (the fast, common path)
            continue
        try:
            if kind == "const":
                out.append(object_type if table == "activities" else "LeadHistory")
            elif kind == "id":
                parsed = _id_value(value, tree if reference_id is not None else None, row)
                if index == 0 and parsed is None:
                    if reference_id is not None and tree is not None:
                        parsed = ids.id_from_reference(reference_id, tree.scope)
                    else:
                        return Reject("no usable Id")
                elif parsed is None and not values.is_blank(value):
                    row.flags.append(f"unusable_id:{name}")
                out.append(parsed)
            elif kind == "text":
                out.append(values.parse_text(value))
            elif kind == "bool":
                try:
                    out.append(values.parse_bool(value))
                except ValueError:
                    row.flags.append(f"unparsed_boolean:{name}")
                    out.append(None)
            elif kind == "number":
                out.append(values.parse_number(value))
            elif kind == "datetime":
                out.append(values.parse_datetime(value))
            elif kind == "date":
                parsed_date, from_datetime = values.parse_date(value)
                if from_datetime:
                    row.flags.append(f"date_from_datetime:{name}")
                out.append(parsed_date)
        except ValueError:
            label = {"datetime": "datetime", "date": "date", "number": "number"}[kind]
            return Reject(f"unparseable {label} in {name}: {_short(value)}")
    _fill_defaults(spec, out, found, object_type)
    if table == "lead_status_history":
        problem = _history_problem(found, out)
        if problem is not None:
            return problem
    try:
        row.raw = to_json(record)
    except Unstorable as exc:
        return Reject(f"unstorable value: {exc}")
    row.values = tuple(out)
    return row


def _reference_id(record: Mapping[str, Any]) -> str | None:
    attributes = record.get("attributes")
    if isinstance(attributes, dict):
        ref = attributes.get("referenceId")
        if isinstance(ref, str) and ref.strip():
            return ref
    return None


def _fill_defaults(
    spec: TableSpec, out: list[Any], found: Mapping[str, tuple[str, Any]], object_type: str
) -> None:
    names = spec.column_names
    for flag in ("is_deleted", "is_child"):
        if flag in names and out[names.index(flag)] is None:
            out[names.index(flag)] = False
    if spec.table == "reps" and out[names.index("name")] is None:
        parts = [values.parse_text(found[k][1]) for k in ("firstname", "lastname") if k in found]
        joined = " ".join(p.strip() for p in parts if p)
        out[names.index("name")] = joined or None
    if spec.table == "interactions":
        if out[names.index("interaction_type")] is None:
            out[names.index("interaction_type")] = object_type
        if out[names.index("occurred_at")] is None:
            out[names.index("occurred_at")] = out[names.index("created_at")]


def _history_problem(found: Mapping[str, tuple[str, Any]], out: list[Any]) -> Outcome | None:
    """LeadHistory rows other than Status changes are skipped; a Status row needs lead and time."""
    field_name = found.get("field", ("Field", None))[1]
    if not values.is_blank(field_name) and (
        not isinstance(field_name, str)
        or field_name.strip().lower() not in ("status", "leadstatus")
    ):
        return Skip("LeadHistory field is not Status")
    if out[1] is None:
        return Reject("no usable Id in LeadId")
    if out[2] is None:
        return Reject("unparseable datetime in CreatedDate: missing")
    return None
