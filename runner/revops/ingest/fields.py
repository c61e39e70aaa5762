"""Field maps: one Salesforce record (a parsed JSON object) -> one ``crm`` row.

Field names match case-insensitively with ``_`` ignored, so ``LeadSource``, ``leadsource`` and
``lead_source`` are one field; the canonical column names (``created_at``, ``stage_name``, ...)
are accepted as aliases too. Unknown and custom (``__c``) fields, relationship columns such as
``Owner.Name`` and ``attributes`` stay in ``raw``, which is the original record unchanged.

A record is rejected when it has no usable Id, when a date, datetime or number field it maps
cannot be parsed, when PostgreSQL could not store it (NUL characters, ...), when an Id or an
indexed label (``label`` columns: status, lead source) is longer than
:data:`~revops.ingest.limits.MAX_KEY_LENGTH` characters (a btree index entry must fit in a
page: one such value used to fail its whole file), or when a date or timestamp lies outside the
plausible years of :class:`~revops.ingest.limits.Limits`. Recoverable oddities
are stored and *flagged* (counted per field in ``ingest_batches.details``): a date given as a
datetime, an unparseable boolean (stored NULL), an unusable lookup Id (stored NULL).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from revops.ingest import ids, values
from revops.ingest.limits import DEFAULT, MAX_KEY_LENGTH, Limits
from revops.ingest.objects import TABLE_OF
from revops.ingest.rawjson import Unstorable, to_json

PG_TYPES = {
    "id": "text",
    "text": "text",
    "label": "text",  # text in an index: at most MAX_KEY_LENGTH characters
    "bool": "boolean",
    "number": "numeric",
    "date": "date",
    "datetime": "timestamptz",
    "const": "text",
}
_FLAG_COLUMNS = ("is_deleted", "is_child", "is_all_day_event")  # stored false when absent


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

    @cached_property
    def flag_indexes(self) -> tuple[int, ...]:
        """Positions of the boolean flags stored false when absent (``_FLAG_COLUMNS``)."""
        return tuple(i for i, c in enumerate(self.columns) if c.name in _FLAG_COLUMNS)


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
                Column("status", "label", ("Status",)),
                Column("lead_source", "label", ("LeadSource",)),
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
                Column("is_all_day_event", "bool", ("IsAllDayEvent",)),
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
                Column("old_status", "label", ("OldValue",)),
                Column("new_status", "label", ("NewValue",)),
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


# One plan step per column that can take a value: (index, kind, the record's field names that
# feed the column in priority order, the name reported when none has a value).
_Step = tuple[int, str, tuple[str, ...], str]
_PLANS: dict[tuple[str, tuple[str, ...]], tuple[_Step, ...]] = {}
_MAX_PLANS = 4096


def _plan(table: str, names: tuple[str, ...]) -> tuple[_Step, ...]:
    """The column plan for records of ``table`` with exactly these field names (cached).

    A column's value is the first non-blank one among its candidates: the spellings of its
    first key in record order, then of its next key, ... (what :func:`_lookup` then
    ``_get`` would pick), so exports, whose records share their field names, resolve names
    once instead of once per record. Columns no field feeds are left out (they stay NULL),
    except the key (its absence rejects the record) and constants.
    """
    plan = _PLANS.get((table, names))
    if plan is None:
        by_key: dict[str, list[str]] = {}
        for name in names:
            by_key.setdefault(norm_key(name), []).append(name)
        steps = []
        for index, column in enumerate(SPECS[table].columns):
            candidates = tuple(name for key in column.keys for name in by_key.get(key, ()))
            if candidates or index == 0 or column.kind == "const":
                default = column.sources[0] if column.sources else column.name
                steps.append((index, column.kind, candidates, default))
        plan = tuple(steps)
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        _PLANS[(table, names)] = plan
    return plan


@dataclass(frozen=True)
class TreeScope:
    """How a tree record's Ids are recovered: the export it belongs to (see :mod:`ids`)."""

    scope: str


def _id_value(value: object, tree: TreeScope | None, out: Row) -> str | None:
    if isinstance(value, str):
        if tree is not None and value.startswith("@"):
            out.refs_used.append(value[1:].strip())
            return ids.resolve_ref(value, tree.scope)
        text = value.strip()
        return ids.to_18(text) if text else None
    return ids.normalise_id(value)


def _too_long(name: str, text: str) -> Reject:
    what = "Id" if name.lower().endswith("id") else "value"
    return Reject(f"{what} too long in {name}: {len(text)} characters (max {MAX_KEY_LENGTH})")


def map_record(
    record: Mapping[str, Any],
    object_type: str,
    tree: TreeScope | None,
    limits: Limits = DEFAULT,
) -> Outcome:
    """Map one record of a known object type; raises nothing for any JSON input nested no
    deeper than the record limit (the pipeline checks that first)."""
    table = TABLE_OF[object_type]
    spec = SPECS[table]
    row = Row(table, (), "")
    out: list[Any] = [None] * len(spec.columns)  # absent or blank: NULL for every kind
    reference_id = _reference_id(record)
    id_tree = tree if reference_id is not None else None
    min_year, max_year = limits.min_year, limits.max_year
    for index, kind, candidates, default in _plan(table, tuple(record)):
        name, value = default, None
        for candidate in candidates:
            item = record[candidate]
            if item is not None and (not isinstance(item, str) or item.strip()):
                name, value = candidate, item
                break
        if value is None and index and kind != "const":
            continue  # absent or blank: NULL for every kind (the fast, common path)
        try:
            if kind == "text":
                out[index] = value if isinstance(value, str) else values.parse_text(value)
            elif kind == "label":
                label = value if isinstance(value, str) else values.parse_text(value)
                if label is not None and len(label) > MAX_KEY_LENGTH:
                    return _too_long(name, label)
                out[index] = label
            elif kind == "id":
                parsed = _id_value(value, id_tree, row)
                if index == 0 and parsed is None:
                    if reference_id is not None and tree is not None:
                        parsed = ids.id_from_reference(reference_id, tree.scope)
                    else:
                        return Reject("no usable Id")
                elif parsed is None and not values.is_blank(value):
                    row.flags.append(f"unusable_id:{name}")
                if parsed is not None and len(parsed) > MAX_KEY_LENGTH:
                    return _too_long(name, parsed)
                out[index] = parsed
            elif kind == "datetime":
                moment = values.parse_datetime(value)
                if moment is not None and not min_year <= moment.year <= max_year:
                    return _implausible("datetime", name, value, limits)
                out[index] = moment
            elif kind == "bool":
                try:
                    out[index] = values.parse_bool(value)
                except ValueError:
                    row.flags.append(f"unparsed_boolean:{name}")
                    out[index] = None
            elif kind == "date":
                parsed_date, from_datetime = values.parse_date(value)
                if from_datetime:
                    row.flags.append(f"date_from_datetime:{name}")
                if parsed_date is not None and not min_year <= parsed_date.year <= max_year:
                    return _implausible("date", name, value, limits)
                out[index] = parsed_date
            elif kind == "number":
                out[index] = values.parse_number(value)
            elif kind == "const":
                out[index] = object_type if table == "activities" else "LeadHistory"
        except ValueError:
            label = {"datetime": "datetime", "date": "date", "number": "number"}[kind]
            return Reject(f"unparseable {label} in {name}: {_short(value)}")
    _fill_defaults(spec, out, record, object_type)
    if table == "lead_status_history":
        problem = _history_problem(_lookup(record), out)
        if problem is not None:
            return problem
    try:
        row.raw = to_json(record)
    except Unstorable as exc:
        return Reject(f"unstorable value: {exc}")
    row.values = tuple(out)
    return row


def _implausible(label: str, name: str, value: object, limits: Limits) -> Reject:
    return Reject(
        f"implausible {label} in {name}: {_short(value)}"
        f" (outside the years {limits.min_year}-{limits.max_year})"
    )


def _reference_id(record: Mapping[str, Any]) -> str | None:
    attributes = record.get("attributes")
    if isinstance(attributes, dict):
        ref = attributes.get("referenceId")
        if isinstance(ref, str) and ref.strip():
            return ref
    return None


def _fill_defaults(
    spec: TableSpec, out: list[Any], record: Mapping[str, Any], object_type: str
) -> None:
    for index in spec.flag_indexes:
        if out[index] is None:
            out[index] = False
    if spec.table == "reps":
        names = spec.column_names
        if out[names.index("name")] is None:
            found = _lookup(record)
            parts = [
                values.parse_text(found[k][1]) for k in ("firstname", "lastname") if k in found
            ]
            joined = " ".join(p.strip() for p in parts if p)
            out[names.index("name")] = joined or None
    elif spec.table == "interactions":
        names = spec.column_names
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
