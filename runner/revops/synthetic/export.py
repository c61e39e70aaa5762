"""Write the synthetic CRM as Salesforce-style JSON exports, in every envelope ingest reads.

``revops generate --format FORMAT --out DIR`` takes the rows of :class:`revops.synthetic.rows.SyntheticCrm`
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from revops.synthetic.calendar import default_end_date, sf_datetime
from revops.synthetic.rows import SyntheticCrm
from revops.synthetic.schema import TABLES

if TYPE_CHECKING:
    from revops.ingest.load import FileResult

from revops.synthetic.envelopes import Context, ExportError, Sink
from revops.synthetic.records import OBJECT_TYPES, OBJECTS_OF, records

FORMATS = ("rest", "sfcli", "tree", "bulk", "singer", "airbyte", "jsonl")
NEEDS_OBJECT = frozenset({"bulk", "jsonl"})
MANIFEST = ".revops-export.json"
PLAN_FILE = "export-plan.json"
PAGE_SIZE = 2000


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


def prepare(out: Path) -> None:
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
    prepare(out)
    extracted = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(6), dt.UTC)
    owner_names = {row[0]: row[1] for row in gen.rows("reps")}
    exported = frozenset(
        [*gen.rep_ids, *gen.account_ids, *gen.lead_ids, *gen.opportunity_ids]
        if fmt == "tree"
        else ()
    )
    context = Context(gen.instance, page_size, owner_names, exported, sf_datetime(extracted),
                       int(extracted.timestamp() * 1000))  # fmt: skip
    sinks = {o: Sink(out, o, fmt, context) for o in OBJECT_TYPES}
    for table in TABLES:
        for object_type, record in records(gen, table):
            sinks[object_type].write(record)
        for object_type in OBJECTS_OF[table]:
            sinks[object_type].close()
        progress(
            f"export {fmt}: {table}: "
            + ", ".join(f"{o} {sinks[o].count}" for o in OBJECTS_OF[table])
        )
    details = {"scale": scale, "seed": seed, "end_date": end.isoformat()}
    return finish(out, fmt, sinks, details)


def finish(out: Path, fmt: str, sinks: dict[str, Sink], details: dict[str, Any]) -> ExportResult:
    """After the sinks are closed: the tree plan, the README of ``--object`` formats and the
    manifest (``details`` says what the export holds)."""
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
    manifest = {"format": fmt, **details, "counts": result.counts,
                "files": {o: [p.name for p in ps] for o, ps in files.items()},
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
    from revops.ingest.session import ingest_session
    from revops.ingest.sources import expand

    results: list[FileResult] = []
    with ingest_session(conn):
        for object_type, paths in ingest_groups(out):
            expansion = expand(paths)
            if expansion.not_found:
                raise ExportError(f"export files missing: {', '.join(expansion.not_found)}")
            loader = Loader(conn, object_type=object_type, progress=progress)
            results.extend(loader.load(expansion.work))
    return results
