"""Write the synthetic CRM as Salesforce-style JSON exports, in every envelope ingest reads.

``revops generate --format FORMAT --out DIR`` takes the rows of :class:`revops.generate.SyntheticCrm`
(the same producers ``load_synthetic`` COPYs into ``crm``) and turns each one back into the
Salesforce record it stands for: Salesforce field names (``OwnerId``, ``LeadSource``,
``CreatedDate``, ``IsWon``, ``ActivityDateTime``, ...), datetimes spelled
``2025-03-09T03:30:00.000+0000``, the custom fields of ``raw`` (``Region__c``) kept. Ingesting the
files gives back the rows of the direct load, except what an export cannot say:
whitespace-only strings (``''``, ``'  '`` lead sources) are NULL to ingest, and a CampaignMember
carries no interaction type (ingest stores its object name). Metrics treat blank labels as
``Unknown`` either way and never read interactions.

Formats (``FORMATS``), one file per object type unless said otherwise, in ``DIR``:

| format | files |
|---|---|
| ``rest`` | REST query pages ``<Object>-0001.json`` ... of ``page_size`` records: ``{totalSize, done, nextRecordsUrl, records: [{attributes: {type, url}, ...}]}``, ``nextRecordsUrl`` on all but the last page |
| ``sfcli`` | ``<Object>.json``: ``{status: 0, result: {totalSize, done, records}, warnings: []}`` |
| ``tree`` | ``<Object>.json`` ``{records: [{attributes: {type, referenceId: "ref<Id>"}, ...}]}`` without Ids, lookups to exported records as ``@ref<Id>``, plus ``export-plan.json`` |
| ``bulk`` | ``<Object>.json``: a bare array, every value a string (``""`` = NULL), ``Owner.Name`` |
| ``singer`` | ``<Object>.jsonl``: SCHEMA, RECORD lines, a final STATE |
| ``airbyte`` | ``<Object>.jsonl``: ``{stream, data, emitted_at}`` lines |
| ``jsonl`` | ``<Object>.jsonl``: bare records |

``bulk`` and ``jsonl`` records name no object type, so each file is ingested with
``--object <Object>`` (the directory's README says how; :func:`load_export` does it).

Streaming: records are written as they are generated (REST pages hold one page in memory);
``totalSize`` is written into space padding reserved at the start of each document once the
object's count is known. Every export directory holds a ``.revops-export.json`` manifest
(format, scale, seed, end date, files per object); a later export into the same directory
replaces those files, and a directory holding anything else is refused.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import psycopg

from revops.generate import COLUMNS, TABLES, SyntheticCrm, default_end_date, sf_datetime

if TYPE_CHECKING:
    from revops.ingest.load import FileResult

FORMATS = ("rest", "sfcli", "tree", "bulk", "singer", "airbyte", "jsonl")
NEEDS_OBJECT = frozenset({"bulk", "jsonl"})
MANIFEST = ".revops-export.json"
PLAN_FILE = "export-plan.json"
API = "/services/data/v60.0"
PAGE_SIZE = 2000
_PAD = 12  # characters reserved for totalSize

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
_TREE_LOOKUPS = frozenset({"OwnerId", "ManagerId", "AccountId", "ConvertedOpportunityId",
                           "ConvertedAccountId", "LeadId", "WhoId", "WhatId"})  # fmt: skip
_OWNED = frozenset({"Account", "Lead", "Opportunity", "Task", "Event"})

Record = dict[str, Any]


class ExportError(Exception):
    """The export cannot be written (bad format, a directory holding other files)."""


def _plan(object_type: str, table: str) -> tuple[tuple[str, int], ...]:
    """(field, column index) pairs of one object type, audit fields included."""
    index = {c: k for k, c in enumerate(COLUMNS[table])}
    pairs = list(FIELDS[object_type])
    names = {f for f, _ in pairs}
    pairs += [(f, c) for f, c in _AUDIT if f not in names and c in index]
    return tuple((f, index[c]) for f, c in pairs)


_PLANS = {o: _plan(o, t) for t, objects in OBJECTS_OF.items() for o in objects}
_RAW = {t: COLUMNS[t].index("raw") for t in TABLES}


def records(gen: SyntheticCrm, table: str) -> Iterator[tuple[str, Record]]:
    """(object type, record) for every row of one table, with typed Python values.

    The custom and extra fields of ``raw`` (``Region__c``, ``Title``, LeadHistory's ``Field``)
    follow the mapped ones; ``attributes`` is left to each format.
    """
    objects = OBJECTS_OF[table]
    source = COLUMNS[table].index("source_object") if table == "activities" else None
    raw_at = _RAW[table]
    for row in gen.rows(table):
        object_type = objects[0] if source is None else row[source]
        record: Record = {name: row[k] for name, k in _PLANS[object_type]}
        raw: Mapping[str, Any] = row[raw_at]
        for name, value in raw.items():
            if name != "attributes" and name not in record:
                record[name] = value
        yield object_type, record


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


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


# -- sinks: one per object type, writing its files ------------------------------------------
@dataclass
class _Sink:
    out: Path
    object_type: str
    fmt: str
    context: _Context
    count: int = 0
    files: list[Path] = field(default_factory=list)
    _fh: IO[str] | None = None
    _first: bool = True
    _page: list[str] = field(default_factory=list)
    _max_stamp: str | None = None

    def _open(self, name: str) -> IO[str]:
        path = self.out / name
        self.files.append(path)
        return path.open("w", encoding="utf-8", newline="\n")

    def _document(self, name: str, head: str) -> None:
        self._fh = self._open(name)
        self._fh.write(head)
        self._first = True

    def _item(self, text: str) -> None:
        if self._fh is None:  # pragma: no cover - write() opens the document first
            raise RuntimeError("no open document")
        self._fh.write(text if self._first else ",\n" + text)
        self._first = False

    def write(self, record: Record) -> None:
        self.count += 1
        fmt, kind = self.fmt, self.object_type
        if fmt == "rest":
            self._page.append(_dumps(self._attributed(record, url=True)))
            if len(self._page) > self.context.page_size:
                self._flush_page(last=False)
        elif fmt == "sfcli":
            if self._fh is None:
                self._document(f"{kind}.json", '{"status":0,"result":{"totalSize":'
                               + " " * _PAD + ',"done":true,"records":[\n')  # fmt: skip
            self._item(_dumps(self._attributed(record, url=True)))
        elif fmt == "tree":
            if self._fh is None:
                self._document(f"{kind}.json", '{"records":[\n')
            self._item(_dumps(self._tree(record)))
        elif fmt == "bulk":
            if self._fh is None:
                self._document(f"{kind}.json", "[\n")
            self._item(_dumps(self._bulk(record)))
        else:
            self._jsonl(record)

    # envelopes
    def _attributed(self, record: Record, *, url: bool) -> Record:
        attributes = {"type": self.object_type}
        if url:
            attributes["url"] = f"{API}/sobjects/{self.object_type}/{record['Id']}"
        return {"attributes": attributes, **{k: json_value(v) for k, v in record.items()}}

    def _tree(self, record: Record) -> Record:
        known = self.context.exported_ids
        out: Record = {
            "attributes": {"type": self.object_type, "referenceId": f"ref{record['Id']}"}
        }
        for name, value in record.items():
            if name == "Id":
                continue
            if name in _TREE_LOOKUPS and isinstance(value, str) and value in known:
                out[name] = f"@ref{value}"
            else:
                out[name] = json_value(value)
        return out

    def _bulk(self, record: Record) -> dict[str, str]:
        out = {k: bulk_value(v) for k, v in record.items()}
        if self.object_type in _OWNED:
            out["Owner.Name"] = self.context.owner_names.get(record.get("OwnerId") or "", "")
        return out

    def _jsonl(self, record: Record) -> None:
        fmt, kind = self.fmt, self.object_type
        if self._fh is None:
            self._fh = self._open(f"{kind}.jsonl")
            if fmt == "singer":
                self._fh.write(_dumps(self._schema()) + "\n")
        data = {k: json_value(v) for k, v in record.items()}
        if fmt == "singer":
            stamp = data.get("SystemModstamp")
            if isinstance(stamp, str) and (self._max_stamp is None or stamp > self._max_stamp):
                self._max_stamp = stamp
            line: Record = {"type": "RECORD", "stream": kind, "record": data,
                            "time_extracted": self.context.extracted_at}  # fmt: skip
        elif fmt == "airbyte":
            line = {"stream": kind, "data": data, "emitted_at": self.context.emitted_at}
        else:
            line = data
        self._fh.write(_dumps(line) + "\n")

    def _schema(self) -> Record:
        table = next(t for t, objects in OBJECTS_OF.items() if self.object_type in objects)
        types = {"date": {"type": ["null", "string"], "format": "date"},
                 "date-time": {"type": ["null", "string"], "format": "date-time"},
                 "boolean": {"type": ["null", "boolean"]}, "number": {"type": ["null", "number"]},
                 "string": {"type": ["null", "string"]}}  # fmt: skip
        properties = {}
        for name, index in _PLANS[self.object_type]:
            column = COLUMNS[table][index]
            kind = ("date-time" if column.endswith("_at") or column == "system_modstamp" else
                    "date" if column.endswith("_date") else
                    "boolean" if column.startswith("is_") else
                    "number" if column == "amount" else "string")  # fmt: skip
            properties[name] = types[kind]
        return {"type": "SCHEMA", "stream": self.object_type,
                "schema": {"type": "object", "properties": properties},
                "key_properties": ["Id"], "bookmark_properties": ["SystemModstamp"]}  # fmt: skip

    def _flush_page(self, *, last: bool) -> None:
        """Write every buffered record but one (all of them for the last page)."""
        keep = [] if last else self._page[self.context.page_size :]
        page = self._page[: self.context.page_size] if not last else self._page
        number = len(self.files) + 1
        head = '{"totalSize":' + " " * _PAD + ',"done":' + ("true" if last else "false")
        if not last:
            locator = f"01g{self.context.instance}000{self.object_type}-{number * len(page)}"
            head += ',"nextRecordsUrl":' + _dumps(f"{API}/query/{locator}")
        with self._open(f"{self.object_type}-{number:04d}.json") as fh:
            fh.write(head + ',"records":[\n' + ",\n".join(page) + "\n]}\n")
        self._page = keep

    def close(self) -> list[Path]:
        if self.fmt == "rest" and self._page:
            self._flush_page(last=True)
        if self._fh is not None:
            if self.fmt == "sfcli":
                self._fh.write('\n]},"warnings":[]}\n')
            elif self.fmt == "tree":
                self._fh.write("\n]}\n")
            elif self.fmt == "bulk":
                self._fh.write("\n]\n")
            elif self.fmt == "singer":
                bookmarks = {self.object_type: {"SystemModstamp": self._max_stamp}}
                self._fh.write(_dumps({"type": "STATE", "value": {"bookmarks": bookmarks}}) + "\n")
            self._fh.close()
            self._fh = None
        if self.fmt in ("rest", "sfcli"):
            for path in self.files:
                _patch_total(path, self.count)
        return self.files


def _patch_total(path: Path, total: int) -> None:
    """Write totalSize into the padding reserved for it after the first ``"totalSize":``."""
    with path.open("r+b") as fh:
        head = fh.read(256)
        offset = head.index(b'"totalSize":') + len(b'"totalSize":')
        text = str(total).encode()
        if len(text) > _PAD:  # pragma: no cover - 10^12 records
            raise ExportError("totalSize does not fit its padding")
        fh.seek(offset)
        fh.write(text.ljust(_PAD))


@dataclass
class _Context:
    """What every sink needs to know about the whole export."""

    instance: str
    page_size: int
    owner_names: dict[str, str]
    exported_ids: frozenset[str]
    extracted_at: str
    emitted_at: int


# -- the export ------------------------------------------------------------------------------
@dataclass
class ExportResult:
    out: Path
    fmt: str
    counts: dict[str, int]  # records per object type
    files: dict[str, list[Path]]  # object type -> files (ingest order)
    plan: Path | None = None

    @property
    def needs_object(self) -> bool:
        return self.fmt in NEEDS_OBJECT


def _prepare(out: Path) -> None:
    """Create ``out``, or clear the files a previous export left there; refuse anything else."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST
    previous: set[str] = set()
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        previous = {str(name) for name in data.get("written", [])} | {MANIFEST}
    others = sorted(p.name for p in out.iterdir() if p.name not in previous)
    if others:
        raise ExportError(
            f"{out} holds files that no export wrote ({', '.join(others[:5])}): choose an empty"
            " or new directory"
        )
    for name in previous:
        (out / name).unlink(missing_ok=True)


def export(
    out: Path,
    *,
    fmt: str,
    scale: float,
    seed: int,
    end_date: dt.date | None = None,
    page_size: int = PAGE_SIZE,
    progress: Callable[[str], None] = lambda _m: None,
) -> ExportResult:
    """Write the synthetic CRM of (scale, seed, end date) into ``out`` as ``fmt`` files."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if page_size < 1:
        raise ExportError("page_size must be at least 1")
    end = end_date or default_end_date()
    gen = SyntheticCrm(scale=scale, seed=seed, end_date=end)
    _prepare(out)
    extracted = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(6), dt.UTC)
    owner_names = {row[0]: row[1] for row in gen.rows("reps")}
    exported = frozenset(
        [*gen.rep_ids, *gen.account_ids, *gen.lead_ids, *gen.opportunity_ids]
        if fmt == "tree"
        else ()
    )
    context = _Context(gen.instance, page_size, owner_names, exported, sf_datetime(extracted),
                       int(extracted.timestamp() * 1000))  # fmt: skip
    sinks = {o: _Sink(out, o, fmt, context) for o in OBJECT_TYPES}
    for table in TABLES:
        for object_type, record in records(gen, table):
            sinks[object_type].write(record)
        for object_type in OBJECTS_OF[table]:
            sinks[object_type].close()
        progress(
            f"export {fmt}: {table}: "
            + ", ".join(f"{o} {sinks[o].count}" for o in OBJECTS_OF[table])
        )
    files = {o: sink.files for o, sink in sinks.items() if sink.files}
    result = ExportResult(out, fmt, {o: s.count for o, s in sinks.items()}, files)
    written = [p.name for paths in files.values() for p in paths]
    if fmt == "tree":
        steps = [{"sobject": o, "saveRefs": True, "resolveRefs": True,
                  "files": [p.name for p in paths]} for o, paths in files.items()]  # fmt: skip
        result.plan = out / PLAN_FILE
        result.plan.write_text(json.dumps(steps, indent=2) + "\n", encoding="utf-8")
        written.append(PLAN_FILE)
    if fmt in NEEDS_OBJECT:
        (out / "README.md").write_text(_readme(result), encoding="utf-8")
        written.append("README.md")
    manifest = {"format": fmt, "scale": scale, "seed": seed, "end_date": end.isoformat(),
                "counts": result.counts, "files": {o: [p.name for p in ps] for o, ps in
                                                     files.items()},
                "written": written}  # fmt: skip
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return result


def _readme(result: ExportResult) -> str:
    lines = [
        f"# Synthetic CRM export ({result.fmt})",
        "",
        "These records name no object type: ingest each file with `--object`:",
        "",
        "```",
    ]
    for object_type, paths in result.files.items():
        names = " ".join(str(result.out / p.name) for p in paths)
        lines.append(f"revops ingest --object {object_type} {names}")
    lines += ["```", ""]
    return "\n".join(lines)


def ingest_groups(out: Path) -> list[tuple[str | None, list[str]]]:
    """How to ingest an export directory: (``--object`` value or None, paths) per call."""
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    if manifest["format"] not in NEEDS_OBJECT:
        return [(None, [str(out)])]
    files: dict[str, list[str]] = manifest["files"]
    return [(o, [str(out / name) for name in names]) for o, names in files.items()]


def load_export(
    conn: psycopg.Connection[Any],
    out: Path,
    progress: Callable[[str], None] = lambda _m: None,
) -> list[FileResult]:
    """Ingest an export directory with the real ingest code (one Loader per ``--object``)."""
    from revops.ingest.load import Loader
    from revops.ingest.sources import expand

    results: list[FileResult] = []
    for object_type, paths in ingest_groups(out):
        expansion = expand(paths)
        if expansion.not_found:
            raise ExportError(f"export files missing: {', '.join(expansion.not_found)}")
        loader = Loader(conn, object_type=object_type, progress=progress)
        results.extend(loader.load(expansion.work))
    return results
