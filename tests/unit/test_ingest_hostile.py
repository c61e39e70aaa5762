"""Hostile input (issue 13): nothing in a file crashes the reader, exhausts memory or loses its
place; every record lands in the tally. No database here (see tests/db/test_ingest_db.py)."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import pytest

from revops.config import ConfigError
from revops.ingest.fields import Reject, Row, map_record
from revops.ingest.guard import PLACEHOLDER, DepthGuard
from revops.ingest.limits import Limits, depth_exceeds
from revops.ingest.pipeline import Loaded, Options, Rejected, Tally, process
from revops.ingest.rawjson import quarantine_text

LEAD = {"attributes": {"type": "Lead"}, "Id": "00Q0S000002QgjU", "Status": "Open"}


def run(data: bytes, **options: Any) -> tuple[list[Any], Tally]:
    items, tally = process(io.BytesIO(data), Options(**options))
    assert tally.balanced(), tally
    return items, tally


def rejected(items: list[Any]) -> list[Rejected]:
    return [i for i in items if isinstance(i, Rejected)]


def deep_lead(depth: int, lead_id: str = "00Q0S000002QgjV") -> str:
    """A Lead whose custom field nests ``depth`` arrays (the issue's reproduction: 5000)."""
    return f'{{"attributes": {{"type": "Lead"}}, "Id": "{lead_id}", "Deep__c": {"[" * depth}{"]" * depth}}}'


# -- 1. a deeply nested value quarantines its record, never the invocation ------------------
@pytest.mark.parametrize("depth", [65, 900, 5000])
@pytest.mark.parametrize("layout", ["rest_page", "array", "jsonl", "one_line_page"])
def test_a_deep_value_quarantines_only_its_record(depth: int, layout: str) -> None:
    good = json.dumps(LEAD)
    if layout == "rest_page":
        data = (
            f'{{"totalSize": 3, "done": true,\n "records": [{good},\n{deep_lead(depth)},\n{good}]}}'
        )
    elif layout == "one_line_page":
        data = f'{{"totalSize": 3, "done": true, "records": [{good}, {deep_lead(depth)}, {good}]}}'
    elif layout == "array":
        data = f"[{good},\n{deep_lead(depth)},\n{good}]"
    else:
        data = f"{good}\n{deep_lead(depth)}\n{good}\n"
    items, tally = run(data.encode())
    assert (tally.records_in, tally.loaded, tally.rejected) == (3, 2, 1)
    [bad] = rejected(items)
    assert bad.position == 2 and bad.reason.startswith("value nested too deep: more than 64")
    assert not tally.file_error


def test_the_record_depth_is_a_setting() -> None:
    record = deep_lead(10)
    assert run(record.encode(), limits=Limits(max_depth=12))[1].loaded == 1
    items, tally = run(record.encode(), limits=Limits(max_depth=8))
    assert tally.rejected == 1 and "more than 8 levels" in rejected(items)[0].reason


def test_depth_exceeds_counts_levels() -> None:
    assert not depth_exceeds(1, 0)
    assert not depth_exceeds({"a": [1]}, 2)
    assert depth_exceeds({"a": [[1]]}, 2)
    assert depth_exceeds([[[[]]]] * 3, 3)
    assert not depth_exceeds(json.loads("[" * 500 + "]" * 500), 500)


def test_quarantine_text_never_raises_on_deep_values() -> None:
    deep: Any = 1
    for _ in range(100_000):
        deep = [deep]
    text = quarantine_text({"Id": "x", "v": deep})
    assert text.startswith('{"Id": "x", "v": [[[') and '"[...]"' in text and len(text) < 1000


def test_an_exception_while_mapping_quarantines_the_record(monkeypatch: pytest.MonkeyPatch) -> None:
    from revops.ingest import fields

    real = fields.map_record

    def flaky(record: Any, *args: Any) -> Any:
        if record.get("Id") == "boom":
            raise RuntimeError("mapper bug")
        return real(record, *args)

    monkeypatch.setattr(fields, "map_record", flaky)
    data = "\n".join(json.dumps({**LEAD, "Id": i}) for i in ("1", "boom", "3")).encode()
    items, tally = run(data)
    assert (tally.loaded, tally.rejected) == (2, 1)
    assert rejected(items)[0].reason == "could not map record: RuntimeError: mapper bug"
    assert rejected(items)[0].position == 2


# -- 2. a deeply nested document costs no memory: the part too deep is cut out ----------------
@pytest.mark.parametrize(
    ("data", "loaded", "reasons"),
    [
        # the shape: a top-level array nested N deep (here unterminated)
        (b"[" * 1_000_000, 0, ["invalid JSON after record 0"]),
        (b"[" * 500_000 + b"]" * 500_000, 0, ["value nested too deep"]),
        (
            b'{"records": [' + json.dumps(LEAD).encode() + b"," + b'{"a":' * 100_000,
            1,
            ["invalid JSON after record 1"],
        ),
        (
            b'{"totalSize": 1, "x": '
            + b'{"a": [' * 50_000
            + b"]}" * 50_000
            + b', "records": ['
            + json.dumps(LEAD).encode()
            + b"]}",
            1,
            [],
        ),
    ],
    ids=["array", "closed_array", "rest_page", "envelope"],
)
def test_a_deep_document_is_cut_before_parsing(
    data: bytes, loaded: int, reasons: list[str]
) -> None:
    items, tally = run(data, object_type="Lead")
    assert tally.loaded == loaded
    assert [r.reason.split(":")[0] for r in rejected(items)] == reasons
    assert tally.flags["document_nested_too_deep"] == 1


def _reference_depth(data: bytes) -> tuple[int, int]:
    depth = deepest = 0
    in_string = escape = False
    for char in data.decode():
        if in_string:
            if escape:
                escape = False
            elif char == "\\":
                escape = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return depth, deepest


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 8 and roll < 0.3:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 8 and roll < 0.6:
        keys = ["a", "[", '"]', "\\", "x{", '\\"}']
        return {rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return rng.choice(["[", "]", '\\"]', "\\", 'a"b', "{}", 1, None, '\\\\"[', ""])


def _feed_all(guard: DepthGuard, data: bytes, cuts: list[int]) -> bytes:
    pieces = zip([0, *cuts], [*cuts, len(data)], strict=True)
    return b"".join(guard.feed(data[start:end]) for start, end in pieces)


def test_the_depth_guard_is_exact_across_any_chunking() -> None:
    rng = random.Random(13)  # noqa: S311 - test data, not security
    for trial in range(2000):
        data = json.dumps(_random_value(rng), indent=1 if trial % 2 else None).encode()
        cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 8))))
        guard = DepthGuard(10**6)
        assert _feed_all(guard, data, cuts) == data
        depth, deepest = _reference_depth(data)
        assert (guard.depth, guard.deepest) == (depth, deepest), data
        if deepest > 2:  # the same document with a lower limit: cut to that depth, still JSON
            cut = DepthGuard(2)
            value = json.loads(_feed_all(cut, data, cuts))
            assert not depth_exceeds(value, 2) and cut.removed > 0


def test_the_placeholder_replaces_exactly_the_deep_container() -> None:
    data = b'[{"a": [[[["x]"]]]], "b": 1}, 2]'
    for size in (1, 3, len(data)):
        guard = DepthGuard(3)
        out = b"".join(guard.feed(data[i : i + size]) for i in range(0, len(data), size))
        assert json.loads(out) == [{"a": [json.loads(PLACEHOLDER)], "b": 1}, 2]


# -- 5. positions are ordinals whatever the layout --------------------------------------------
def test_one_line_rest_page_positions_are_record_indexes() -> None:
    records = [{**LEAD, "Id": f"00Q0S00000{i:05d}"} for i in range(5)]
    records[3] = {"Name": "no id"}
    page = json.dumps({"totalSize": 5, "done": True, "records": records})  # one line
    items, tally = run(page.encode())
    assert tally.shape == "jsonl:rest_query"
    assert [i.position for i in items] == [1, 2, 3, 4, 5]
    assert [r.position for r in rejected(items)] == [4]


def test_positions_continue_across_pages_and_lines() -> None:
    page = json.dumps({"records": [LEAD, LEAD]})
    assert [i.position for i in run(f"{page}\n{page}\n".encode())[0]] == [1, 2, 3, 4]
    assert [i.position for i in run(f"[{page}, {page}]".encode())[0]] == [1, 2, 3, 4]


# -- 7. UTF-16/32 --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-8-sig"]
)
@pytest.mark.parametrize("pretty", [True, False])
def test_utf16_and_utf32_files_load(encoding: str, pretty: bool) -> None:
    lead = {**LEAD, "LastName": "Müller 名前"}
    page = json.dumps({"totalSize": 2, "records": [lead, lead]}, indent=2 if pretty else None)
    items, tally = run((page + "\n").encode(encoding))
    assert (tally.loaded, tally.rejected) == (2, 0)
    row = next(i for i in items if isinstance(i, Loaded)).row
    assert "Müller 名前" in row.values


# -- 4. oversized Ids and indexed labels are quarantined, not the file --------------------------
@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ("Id", "Id too long in Id: 12000 characters (max 255)"),
        ("OwnerId", "Id too long in OwnerId: 12000 characters (max 255)"),
        ("ConvertedOpportunityId", "Id too long in ConvertedOpportunityId: 12000 characters"),
        ("Status", "value too long in Status: 12000 characters (max 255)"),
        ("LeadSource", "value too long in LeadSource: 12000 characters (max 255)"),
    ],
)
def test_oversized_keys_are_rejected(field: str, reason: str) -> None:
    record = {**LEAD, field: "x" * 12_000}
    outcome = map_record(record, "Lead", None)
    assert isinstance(outcome, Reject) and outcome.reason.startswith(reason)


def test_ids_and_labels_up_to_the_limit_load() -> None:
    record = {**LEAD, "Id": "k" * 255, "Status": "s" * 255, "Company": "c" * 100_000}
    assert isinstance(map_record(record, "Lead", None), Row)
    assert isinstance(map_record({**LEAD, "Id": "x" * 256}, "Lead", None), Reject)


# -- 10. implausible dates and timestamps are quarantined ---------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("CreatedDate", "0001-01-01T00:00:00Z"),
        ("CreatedDate", "9999-12-31T23:59:59-05:00"),
        ("SystemModstamp", "1969-12-31T23:59:59Z"),
        ("ConvertedDate", "2101-01-01"),
        ("ConvertedDate", "1899-12-31"),
    ],
)
def test_implausible_dates_are_rejected(field: str, value: str) -> None:
    outcome = map_record({**LEAD, field: value}, "Lead", None)
    assert isinstance(outcome, Reject)
    assert (
        outcome.reason.startswith("implausible date") and f"in {field}: '{value}'" in outcome.reason
    )
    assert outcome.reason.endswith("(outside the years 1970-2100)")


def test_the_plausible_years_are_settings() -> None:
    record = {**LEAD, "CreatedDate": "1960-05-01T00:00:00Z", "ConvertedDate": "1960-05-02"}
    assert isinstance(map_record(record, "Lead", None), Reject)
    assert isinstance(map_record(record, "Lead", None, Limits(min_year=1950)), Row)
    assert isinstance(map_record({**LEAD, "ConvertedDate": "1970-01-01"}, "Lead", None), Row)
    assert isinstance(map_record({**LEAD, "ConvertedDate": "2100-12-31"}, "Lead", None), Row)


def test_limits_from_the_environment() -> None:
    assert Limits.from_env({}) == Limits()
    env = {"REVOPS_INGEST_MAX_DEPTH": "10", "REVOPS_INGEST_MIN_YEAR": "1900"}
    assert Limits.from_env(env) == Limits(max_depth=10, min_year=1900)
    for bad in (
        {"REVOPS_INGEST_MAX_DEPTH": "0"},
        {"REVOPS_INGEST_MIN_YEAR": "x"},
        {"REVOPS_INGEST_MIN_YEAR": "2200"},
        {"REVOPS_INGEST_MAX_DEPTH": "5000"},
    ):
        with pytest.raises(ConfigError):
            Limits.from_env(bad)
