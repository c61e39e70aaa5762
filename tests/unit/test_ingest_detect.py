"""Shape detection and the per-file tally, from bytes: no database."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from revops.ingest.pipeline import Loaded, Options, Rejected, Skipped, Tally, process
from revops.ingest.sources import expand

LEAD = {"attributes": {"type": "Lead", "url": "/x"}, "Id": "00Q0S000002QgjU", "Status": "Open"}


def run(data: bytes | str, **options: Any) -> tuple[list[Any], Tally]:
    raw = data.encode() if isinstance(data, str) else data
    items, tally = process(io.BytesIO(raw), Options(**options))
    assert tally.balanced(), tally
    return items, tally


def loaded(items: list[Any]) -> list[Loaded]:
    return [i for i in items if isinstance(i, Loaded)]


def rejected(items: list[Any]) -> list[Rejected]:
    return [i for i in items if isinstance(i, Rejected)]


def lines(*values: Any) -> str:
    return "".join(json.dumps(v) + "\n" for v in values)


def test_rest_query_page_never_trusts_total_size() -> None:
    page = {"totalSize": 99, "done": False, "nextRecordsUrl": "/next", "records": [LEAD, LEAD]}
    _items, tally = run(json.dumps(page, indent=2))
    assert tally.shape == "rest_query" and tally.records_in == 2 and tally.loaded == 2


def test_several_rest_pages_in_an_array_or_as_lines() -> None:
    page = {"totalSize": 1, "done": True, "records": [LEAD]}
    assert run(json.dumps([page, page]))[1].loaded == 2
    assert run(lines(page, page))[1].loaded == 2
    assert run(json.dumps(page, indent=1) + "\n" + json.dumps(page))[1].loaded == 2


def test_sf_cli_envelope_and_error() -> None:
    ok = {"status": 0, "result": {"records": [LEAD], "totalSize": 1, "done": True}, "warnings": []}
    items, tally = run(json.dumps(ok, indent=2))
    assert tally.shape == "sf_cli_json" and tally.loaded == 1
    error = {
        "status": 1,
        "name": "INVALID_TYPE",
        "message": "sObject type 'Lea' is not supported.",
        "exitCode": 1,
        "warnings": [],
    }
    items, tally = run(json.dumps(error, indent=2))
    assert tally.shape == "sf_cli_error" and tally.rejected == 1 and tally.file_error
    assert rejected(items)[0].reason == (
        "sf CLI error envelope: INVALID_TYPE: sObject type 'Lea' is not supported."
    )


def test_tree_export_with_rest_keys_is_a_tree() -> None:
    tree = {
        "records": [{"attributes": {"type": "Account", "referenceId": "AccountRef1"}, "Name": "A"}]
    }
    items, tally = run(json.dumps(tree), scope="/x")
    assert tally.shape == "sf_tree" and tally.loaded == 1
    assert loaded(items)[0].row.values[0].startswith("tree:")


def test_bulk_array_needs_object_or_id_prefix() -> None:
    rows = [
        {"Id": "00Q0S000002QgjU", "Status": "Open", "Owner.Name": "Ada"},
        {"Id": "abc", "Status": "Open"},
    ]
    items, tally = run(json.dumps(rows))
    assert tally.shape == "bulk_json_array"
    assert tally.loaded == 1 and tally.rejected == 1  # the prefix names the first one only
    assert rejected(items)[0].reason.startswith("no object type")
    items, tally = run(json.dumps(rows), object_type="Lead")
    assert tally.loaded == 2


def test_singer_and_airbyte_lines() -> None:
    singer = lines(
        {"type": "SCHEMA", "stream": "Lead", "schema": {}, "key_properties": ["Id"]},
        {"type": "RECORD", "stream": "Lead", "record": {"Id": "1", "Status": "Open"}},
        {"type": "RECORD", "stream": "Opportunity", "record": {"Id": "2", "Amount": 5}},
        {"type": "STATE", "value": {"bookmarks": {}}},
    )
    items, tally = run(singer)
    assert tally.shape == "jsonl:singer" and tally.records_in == 2 and tally.loaded == 2
    assert {i.object_type for i in loaded(items)} == {"Lead", "Opportunity"}
    airbyte = lines(
        {"stream": "leads", "data": {"Id": "1"}, "emitted_at": 1},
        {"type": "RECORD", "record": {"stream": "Event", "data": {"Id": "2"}, "emitted_at": 1}},
        {"_airbyte_ab_id": "x", "_airbyte_emitted_at": 1, "_airbyte_data": json.dumps({"Id": "3"})},
        {"type": "STATE", "state": {"data": {}}},
        {"type": "LOG", "log": {"level": "INFO", "message": "hi"}},
    )
    items, tally = run(airbyte, object_type="Task")
    assert tally.shape == "jsonl:airbyte" and tally.records_in == 3 and tally.loaded == 3
    assert [i.object_type for i in loaded(items)] == ["Lead", "Event", "Task"]


def test_bare_jsonl_positions_are_ordinals_and_bad_lines_do_not_stop_the_file() -> None:
    text = '{"Id": "1"}\n\n{not json\n[1]\n"x"\n{"Id": "2", "CloseDate": "never"}\n{"Id": "3"}\n'
    items, tally = run(text, object_type="Opportunity")
    assert tally.shape == "jsonl"
    assert tally.records_in == 6 and tally.loaded == 2 and tally.rejected == 4
    assert [(r.position, r.reason.split(":")[0]) for r in rejected(items)] == [
        (2, "invalid JSON"),  # the blank line is no entry
        (3, "not an object"),
        (4, "not an object"),
        (5, "unparseable date in CloseDate"),
    ]
    assert rejected(items)[0].reason.endswith("(line 3)")  # the line is in the reason


def test_not_json_empty_and_truncated() -> None:
    items, tally = run("Id,Name\n1,Acme\n")
    assert (
        tally.shape == "not_json"
        and tally.rejected == 1
        and rejected(items)[0].reason == "not JSON"
    )
    assert run("")[1].records_in == 0
    assert run("  \n\n ")[1].shape == "empty"
    items, tally = run('[{"Id": "1"}, {"Id": "2"}, {"Id": ', object_type="Lead")
    assert tally.loaded == 2 and tally.rejected == 1 and tally.file_error


def test_other_types_are_skipped_not_rejected() -> None:
    items, tally = run(
        json.dumps(
            {
                "records": [
                    {"attributes": {"type": "Case"}, "Id": "5"},
                    {
                        "attributes": {"type": "LeadHistory"},
                        "Id": "6",
                        "LeadId": "1",
                        "Field": "Rating",
                        "CreatedDate": "2024-01-01T00:00:00Z",
                    },
                ]
            }
        )
    )
    assert tally.skipped == 2 and tally.rejected == 0
    assert all(isinstance(i, Skipped) for i in items)


def test_sha256_covers_the_whole_input_even_after_an_error() -> None:
    import hashlib

    from revops.ingest.pipeline import Processor

    data = b'[{"Id": "1"}, oops' + b" " * 200_000
    processor = Processor(io.BytesIO(data), Options(object_type="Lead"))
    list(processor)
    assert processor.reader.info.sha256 == hashlib.sha256(data).hexdigest()


def test_directory_expansion_uses_plans_and_ignores_non_json(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# not data")
    (tmp_path / "Account.json").write_text(json.dumps({"records": []}))
    (tmp_path / "extra.data").write_text(lines({"Id": "1"}))
    (tmp_path / "plan.json").write_text(
        json.dumps(
            [
                {"sobject": "Account", "files": ["Account.json"]},
                {"sobject": "Contact", "files": ["Contact.json"]},
            ]
        )
    )
    expansion = expand([str(tmp_path), str(tmp_path / "Account.json")])
    assert expansion.ignored == [str(tmp_path / "README.md")]
    kinds = [type(w).__name__ for w in expansion.work]
    assert kinds == ["PlanWork", "FileWork"]
    plan = expansion.work[0]
    assert [m.name for m in plan.missing] == ["Contact.json"]  # type: ignore[union-attr]
    assert expand([str(tmp_path / "nope*.json")]).not_found == [str(tmp_path / "nope*.json")]
    assert len(expand([str(tmp_path / "*.json")]).work) == 1  # the plan (which names Account.json)


@pytest.mark.parametrize("prefix", [b"\xef\xbb\xbf", b"\n\n  ", b""])
def test_leading_bom_and_blank_lines(prefix: bytes) -> None:
    assert run(prefix + json.dumps([LEAD]).encode())[1].loaded == 1
    assert run(prefix + lines(LEAD).encode())[1].loaded == 1
