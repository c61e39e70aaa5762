"""JSON exports of the synthetic CRM, without a database: envelope shapes, determinism, typing.

Every file is read back through the ingest's own reader and mapper (``revops.ingest.detect``,
``pipeline.process``): it must be recognised as the envelope it claims to be, and every record
must map to a row with nothing rejected.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from revops.ingest import detect
from revops.ingest.pipeline import Loaded, Options, process
from revops.ingest.reader import Reader
from revops.synthetic.envelopes import ExportError
from revops.synthetic.export import (
    FORMATS,
    MANIFEST,
    NEEDS_OBJECT,
    ExportResult,
    export,
    ingest_groups,
)
from revops.synthetic.records import OBJECT_TYPES, bulk_value, json_value

SCALE, SEED, END = 0.001, 5, dt.date(2025, 3, 31)
SF_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000")
BULK_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
SHAPE = {
    "rest": "rest_query",
    "sfcli": "sf_cli_json",
    "tree": "sf_tree",
    "bulk": "bulk_json_array",
    "singer": "jsonl:singer",
    "airbyte": "jsonl:airbyte",
    "jsonl": "jsonl",
}


def _export(tmp_path: Path, fmt: str, **kwargs: Any) -> ExportResult:
    options: dict[str, Any] = {"scale": SCALE, "seed": SEED, "end_date": END, "page_size": 100}
    options.update(kwargs)
    return export(tmp_path / fmt, fmt=fmt, **options)


def _tree_of(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_file_reads_back_as_its_envelope(fmt: str, tmp_path: Path) -> None:
    result = _export(tmp_path, fmt)
    assert set(result.files) == set(OBJECT_TYPES)
    assert all(result.counts[o] > 0 for o in OBJECT_TYPES)
    for object_type, paths in result.files.items():
        loaded = 0
        for path in paths:
            with path.open("rb") as fh:
                options = Options(
                    object_type=object_type if fmt in NEEDS_OBJECT else None,
                    step_type=object_type if fmt == "tree" else None,
                    scope=str(path.parent),
                )
                items, tally = process(fh, options)
            assert tally.shape == SHAPE[fmt], path
            assert tally.rejected == tally.skipped == 0, tally.reject_reasons
            assert tally.balanced()
            assert {i.object_type for i in items if isinstance(i, Loaded)} == {object_type}
            loaded += tally.loaded
        assert loaded == result.counts[object_type]


@pytest.mark.parametrize("fmt", ["rest", "sfcli", "tree"])
def test_documents_are_detected_as_their_envelope(fmt: str, tmp_path: Path) -> None:
    result = _export(tmp_path, fmt)
    kind = {"rest": "rest_query", "sfcli": "sf_cli_json", "tree": "sf_tree"}[fmt]
    for paths in result.files.values():
        for path in paths:
            assert detect.unwrap(_tree_of(path)).kind == kind
    if fmt == "tree":
        assert result.plan is not None
        plan = json.loads(result.plan.read_text(encoding="utf-8"))
        assert detect.is_plan(plan)
        assert [step["sobject"] for step in plan] == list(OBJECT_TYPES)


def test_rest_pages(tmp_path: Path) -> None:
    result = _export(tmp_path, "rest", page_size=70)
    leads = result.files["Lead"]
    assert len(leads) == -(-result.counts["Lead"] // 70) > 1
    pages = [_tree_of(p) for p in leads]
    for page in pages[:-1]:
        assert page["done"] is False
        assert page["nextRecordsUrl"].startswith("/services/data/v60.0/query/")
        assert len(page["records"]) == 70
    assert pages[-1]["done"] is True and "nextRecordsUrl" not in pages[-1]
    assert len({p["nextRecordsUrl"] for p in pages[:-1]}) == len(pages) - 1
    assert {p["totalSize"] for p in pages} == {result.counts["Lead"]}
    record = pages[0]["records"][0]
    assert record["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v60.0/sobjects/Lead/{record['Id']}",
    }
    assert SF_DATETIME.fullmatch(record["CreatedDate"])
    assert isinstance(record["IsConverted"], bool)


def test_sfcli_envelope(tmp_path: Path) -> None:
    result = _export(tmp_path, "sfcli")
    doc = _tree_of(result.files["Opportunity"][0])
    assert doc["status"] == 0 and doc["warnings"] == []
    assert doc["result"]["totalSize"] == len(doc["result"]["records"]) > 0
    amounts = [r["Amount"] for r in doc["result"]["records"]]
    assert None in amounts and any(isinstance(a, float) for a in amounts)


def test_tree_records_have_reference_ids_and_refs(tmp_path: Path) -> None:
    result = _export(tmp_path, "tree")
    records = _tree_of(result.files["Task"][0])["records"]
    assert all("Id" not in r and r["attributes"]["referenceId"].startswith("ref") for r in records)
    owners = {r["OwnerId"] for r in records}
    assert any(isinstance(o, str) and o.startswith("@ref005") for o in owners)
    assert None in owners  # unowned tasks stay unowned
    assert any(isinstance(r["WhoId"], str) and r["WhoId"].startswith("@ref00Q") for r in records)
    leads = _tree_of(result.files["Lead"][0])["records"]
    queues = {r["OwnerId"] for r in leads if isinstance(r["OwnerId"], str)}
    assert any(o.startswith("00G") for o in queues)  # not in the export: a plain Id


def test_bulk_values_are_strings(tmp_path: Path) -> None:
    result = _export(tmp_path, "bulk")
    records = json.loads(result.files["Lead"][0].read_text(encoding="utf-8"))
    assert isinstance(records, list)
    assert all(isinstance(v, str) for r in records for v in r.values())
    assert all("attributes" not in r and "Owner.Name" in r for r in records)
    assert {r["IsConverted"] for r in records} == {"true", "false"}
    assert "" in {r["ConvertedDate"] for r in records}
    assert all(BULK_DATETIME.fullmatch(r["CreatedDate"]) for r in records)
    assert any(r["Owner.Name"] for r in records)


def test_singer_protocol_lines(tmp_path: Path) -> None:
    result = _export(tmp_path, "singer")
    lines = [json.loads(x) for x in result.files["Event"][0].read_text().splitlines()]
    assert lines[0]["type"] == "SCHEMA" and lines[0]["stream"] == "Event"
    assert lines[-1]["type"] == "STATE"
    assert {line["type"] for line in lines[1:-1]} == {"RECORD"}
    with result.files["Event"][0].open("rb") as fh:
        reader = Reader(fh)
        list(reader)
    assert reader.info.protocol == {"SCHEMA": 1, "STATE": 1}


def test_airbyte_lines(tmp_path: Path) -> None:
    result = _export(tmp_path, "airbyte")
    lines = [json.loads(x) for x in result.files["User"][0].read_text().splitlines()]
    assert {tuple(sorted(line)) for line in lines} == {("data", "emitted_at", "stream")}
    assert all(detect.unwrap(line).kind == "airbyte" for line in lines)


def test_jsonl_needs_object_and_says_so(tmp_path: Path) -> None:
    result = _export(tmp_path, "jsonl")
    assert result.needs_object
    first = json.loads(result.files["LeadHistory"][0].read_text().splitlines()[0])
    assert "attributes" not in first and first["Field"] == "Status"
    readme = (result.out / "README.md").read_text()
    assert "--object LeadHistory" in readme
    groups = ingest_groups(result.out)
    assert [g[0] for g in groups] == list(OBJECT_TYPES)
    assert ingest_groups(_export(tmp_path, "rest").out) == [(None, [str(tmp_path / "rest")])]


@pytest.mark.parametrize("fmt", FORMATS)
def test_exports_are_deterministic(fmt: str, tmp_path: Path) -> None:
    one = _export(tmp_path / "a", fmt)
    two = _export(tmp_path / "b", fmt)
    names = sorted(p.name for p in one.out.iterdir())
    assert names == sorted(p.name for p in two.out.iterdir())
    for name in names:
        if name not in (MANIFEST, "README.md"):
            assert (one.out / name).read_bytes() == (two.out / name).read_bytes(), name
    other = _export(tmp_path / "c", fmt, seed=SEED + 1)
    first = min(one.files["Lead"]).name
    assert (one.out / first).read_bytes() != (other.out / first).read_bytes()


def test_reexport_replaces_its_files_and_refuses_foreign_ones(tmp_path: Path) -> None:
    result = _export(tmp_path, "rest", page_size=50)
    many = {p.name for p in result.out.iterdir()}
    again = export(result.out, fmt="rest", scale=SCALE, seed=SEED, end_date=END, page_size=5000)
    assert {p.name for p in again.out.iterdir()} < many
    (again.out / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="notes.txt"):
        export(again.out, fmt="rest", scale=SCALE, seed=SEED, end_date=END)
    with pytest.raises(ExportError, match="unknown format"):
        export(tmp_path / "x", fmt="csv", scale=SCALE, seed=SEED, end_date=END)


def test_value_spellings() -> None:
    at = dt.datetime(2025, 3, 9, 3, 30, tzinfo=dt.UTC)
    assert json_value(at) == "2025-03-09T03:30:00.000+0000"
    assert bulk_value(at) == "2025-03-09T03:30:00.000Z"
    assert json_value(dt.date(2025, 3, 9)) == bulk_value(dt.date(2025, 3, 9)) == "2025-03-09"
    from decimal import Decimal

    assert json_value(Decimal("1200.50")) == 1200.5
    assert bulk_value(Decimal("1200.50")) == "1200.50"
    assert (bulk_value(None), bulk_value(True), bulk_value(0)) == ("", "true", "0")


def test_cli_generate_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from revops import cli

    parser = cli.build_parser()
    for fmt in FORMATS:
        assert parser.parse_args(["generate", "--format", fmt, "--out", "x"]).format == fmt
    out = tmp_path / "cli"
    argv = ["generate", "--scale", str(SCALE), "--seed", str(SEED), "--end-date", END.isoformat()]
    assert cli.main([*argv, "--format", "jsonl", "--out", str(out)]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts == _export(tmp_path, "jsonl").counts
    assert (out / "Lead.jsonl").is_file() and (out / "README.md").is_file()
    assert cli.main([*argv, "--format", "jsonl"]) == 2  # --out missing
