"""One source in, mapped rows and quarantined entries out, with the tally that proves nothing
was lost: ``records_in = loaded + rejected + skipped`` for every file.

No database here: :mod:`revops.ingest.load` consumes :func:`process`, and the unit tests drive
it directly with hostile input. Nothing a record holds can raise out of here: a record nested
deeper than the limit is quarantined as "value nested too deep", and any other exception while
mapping one record quarantines that record ("could not map record: ...") and the file goes on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from revops.ingest import fields
from revops.ingest.limits import DEFAULT, Limits, depth_exceeds
from revops.ingest.objects import TABLE_OF, canonical_type, type_from_id
from revops.ingest.rawjson import quarantine_text
from revops.ingest.reader import Bad, Candidate, Reader


@dataclass
class Loaded:
    position: int
    object_type: str
    row: fields.Row


@dataclass
class Rejected:
    position: int | None
    object_type: str | None
    reason: str
    raw_text: str


@dataclass
class Skipped:
    """A record of a type with no crm table (or a LeadHistory row that is not a Status change)."""

    position: int
    object_type: str


Item = Loaded | Rejected | Skipped


@dataclass
class Tally:
    records_in: int = 0
    loaded: int = 0
    rejected: int = 0
    skipped: int = 0
    object_types: Counter[str] = field(default_factory=Counter)
    skipped_types: Counter[str] = field(default_factory=Counter)
    reject_reasons: Counter[str] = field(default_factory=Counter)
    flags: Counter[str] = field(default_factory=Counter)
    refs_defined: set[str] = field(default_factory=set)
    refs_used: set[str] = field(default_factory=set)
    tree_records: int = 0
    shape: str = "empty"
    file_error: bool = False  # the file as a whole could not be read (or was an error envelope)

    def balanced(self) -> bool:
        return self.records_in == self.loaded + self.rejected + self.skipped


@dataclass(frozen=True)
class Options:
    """How to read one source."""

    object_type: str | None = None  # --object: for envelopes that carry no type
    step_type: str | None = None  # the sobject of the tree plan step naming this file
    scope: str = "<stdin>"  # the export a tree file belongs to (see revops.ingest.ids)
    limits: Limits = DEFAULT


def _reason_key(reason: str) -> str:
    """Reasons grouped for the summary: drop the value quoted after the field name."""
    grouped = (
        "unparseable",
        "implausible",
        "invalid JSON:",
        "value nested",
        "Id too long",
        "value too long",
    )
    return reason.split(": ", 1)[0] if reason.startswith(grouped) else reason


def _type_of(record: dict[str, Any], stream: str | None, options: Options) -> str | None:
    attributes = record.get("attributes")
    if isinstance(attributes, dict):
        named = canonical_type(attributes.get("type"))
        if named:
            return named
    for name in (options.step_type, stream, options.object_type):
        named = canonical_type(name)
        if named:
            return named
    for key in ("Id", "id"):
        if key in record:
            return type_from_id(record[key])
    return None


class Processor:
    """Iterate :class:`Loaded` and :class:`Rejected` items of one source; ``tally`` as it goes."""

    def __init__(self, source: BinaryIO, options: Options) -> None:
        self.reader = Reader(source, options.limits)
        self.options = options
        self.tally = Tally()
        self._tree = fields.TreeScope(options.scope)
        self._max_depth = options.limits.max_depth

    def __iter__(self) -> Iterator[Item]:
        for entry in self.reader:
            if isinstance(entry, Bad):
                self.tally.records_in += 1
                self.tally.file_error |= entry.position is None or entry.reason.startswith(
                    ("invalid JSON after", "sf CLI error")
                )
                yield self._reject(entry.position, None, entry.reason, entry.raw_text)
            else:
                try:  # inline, not a helper: this runs once per record
                    item = self._one(entry)
                except Exception as exc:  # noqa: BLE001 - one record must never stop its file
                    item = self._unmappable(entry, exc)
                yield item
        self.tally.shape = self._shape()
        if self.reader.removed_too_deep:  # cut out of the document (see revops.ingest.guard)
            self.tally.flags["document_nested_too_deep"] += self.reader.removed_too_deep

    def _reject(
        self, position: int | None, object_type: str | None, reason: str, raw_text: str
    ) -> Rejected:
        self.tally.rejected += 1
        self.tally.reject_reasons[_reason_key(reason)] += 1
        return Rejected(position, object_type, reason, raw_text)

    def _unmappable(self, entry: Candidate, exc: Exception) -> Item:
        """What :meth:`_one` raised quarantines the record, not the file (``_one`` counts the
        record in first, and loaded/skipped only after everything that can raise)."""
        reason = f"could not map record: {type(exc).__name__}: {str(exc)[:200]}"
        return self._reject(entry.position, None, reason, quarantine_text(entry.value))

    def _one(self, entry: Candidate) -> Item:
        tally = self.tally
        tally.records_in += 1
        record = entry.value
        if entry.maybe_deep and depth_exceeds(record, self._max_depth):
            hint = (
                _type_of(record, entry.stream, self.options)
                if isinstance(record, dict)
                else canonical_type(entry.stream) or canonical_type(self.options.object_type)
            )
            reason = f"value nested too deep: more than {self._max_depth} levels"
            return self._reject(entry.position, hint, reason, quarantine_text(record))
        if not isinstance(record, dict):
            hint = canonical_type(entry.stream) or canonical_type(self.options.object_type)
            return self._reject(entry.position, hint, "not an object", quarantine_text(record))
        attributes = record.get("attributes")
        if isinstance(attributes, dict) and isinstance(attributes.get("referenceId"), str):
            tally.tree_records += 1
            tally.refs_defined.add(attributes["referenceId"].strip())
        object_type = _type_of(record, entry.stream, self.options)
        if object_type is None:
            return self._reject(
                entry.position,
                None,
                "no object type (no attributes.type or stream; pass --object TYPE)",
                quarantine_text(record),
            )
        tally.object_types[object_type] += 1
        if object_type not in TABLE_OF:
            tally.skipped += 1
            tally.skipped_types[object_type] += 1
            return Skipped(entry.position, object_type)
        outcome = fields.map_record(record, object_type, self._tree, self.options.limits)
        if isinstance(outcome, fields.Row):
            tally.loaded += 1
            if outcome.flags:
                tally.flags.update(outcome.flags)
            if outcome.refs_used:
                tally.refs_used.update(outcome.refs_used)
            return Loaded(entry.position, object_type, outcome)
        if isinstance(outcome, fields.Skip):
            tally.skipped += 1
            tally.skipped_types[f"{object_type} ({outcome.reason})"] += 1
            return Skipped(entry.position, object_type)
        return self._reject(entry.position, object_type, outcome.reason, quarantine_text(record))

    def _shape(self) -> str:
        info = self.reader.info
        if info.plan is not None:
            return "sf_tree_plan"
        if info.reader in ("empty", "not_json"):
            return info.reader
        kinds = info.kinds
        if self.tally.tree_records:
            return "sf_tree"
        for kind in ("sf_cli_error", "sf_cli_json", "rest_query", "singer", "airbyte"):
            if kinds[kind]:
                return f"jsonl:{kind}" if info.reader == "jsonl" else kind
        if info.reader == "jsonl":
            return "jsonl"
        if info.reader == "json_array":
            return "bulk_json_array"
        return "json_record"


def process(source: BinaryIO, options: Options | None = None) -> tuple[list[Item], Tally]:
    """Convenience for tests: every item of one source and the final tally."""
    processor = Processor(source, options or Options())
    items = list(processor)
    return items, processor.tally
