"""Property tests: random and hostile values and structures never crash the parser, and every
file balances: records in = loaded + rejected + skipped."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revops.ingest.fields import Reject, Row, Skip, map_record
from revops.ingest.objects import TABLE_OF
from revops.ingest.pipeline import Options, process

FIELD_NAMES = [
    "Id",
    "id",
    "ID",
    "lead_id",
    "OwnerId",
    "owner_id",
    "Status",
    "status",
    "LeadSource",
    "lead_source",
    "CreatedDate",
    "created_at",
    "LastModifiedDate",
    "SystemModstamp",
    "Amount",
    "amount",
    "CloseDate",
    "closedate",
    "IsWon",
    "IsDeleted",
    "ActivityDate",
    "ActivityDateTime",
    "IsChild",
    "Field",
    "OldValue",
    "NewValue",
    "LeadId",
    "ConvertedDate",
    "Owner.Name",
    "attributes",
    "type",
    "stream",
    "data",
    "record",
    "records",
    "result",
    "Custom__c",
]
HOSTILE = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "'; DROP TABLE crm.leads; --",
    "\\",
    "\\.",
    "\t\n\r",
    "\u202a\u200b\u180e",
    "😀",
    "Z̴̡a̸l̷g̶o",
    "1e999999",
    "NaN",
    "-0",
    "2024-02-30",
    "2024-03-10T07:30:00.000+0000",
    "0010S00000C1t21",
    "@AccountRef1",
    "true",
    "null",
    "{}",
]

# a record holding these keys may itself be read as an envelope (which is the point of detection)
ENVELOPE_KEYS = frozenset(
    {"type", "stream", "data", "record", "records", "result", "status", "_airbyte_data"}
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.sampled_from([Decimal("1e999999"), Decimal("-1E-999999"), Decimal("1200.50")]),
    st.text(max_size=30),
    st.sampled_from(HOSTILE),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=12), st.sampled_from(HOSTILE))
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=6)
    ),
    max_leaves=25,
)
records = st.one_of(
    st.dictionaries(keys, values, max_size=10),
    st.dictionaries(st.sampled_from(FIELD_NAMES), scalars, max_size=12),
    values,
)
types = st.one_of(st.sampled_from([*TABLE_OF, "Case", "Contact", "Car__c"]), st.text(max_size=8))


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=True)  # lone surrogates as \ud800


def envelope(kind: str, items: list[Any], type_name: str) -> tuple[bytes, int]:
    """A file of the given kind holding ``items``; also how many records it holds."""
    typed = [{"attributes": {"type": type_name}, **r} if isinstance(r, dict) else r for r in items]
    if kind == "rest":
        text = dumps({"totalSize": 7, "done": True, "records": typed})
    elif kind == "rest_pretty":
        text = json.dumps({"totalSize": 7, "done": True, "records": typed}, default=str, indent=2)
    elif kind == "cli":
        text = dumps({"status": 0, "result": {"records": typed, "done": True}, "warnings": []})
    elif kind == "tree":
        tree = [
            {"attributes": {"type": type_name, "referenceId": f"Ref{i}"}, **r}
            if isinstance(r, dict)
            else r
            for i, r in enumerate(items)
        ]
        text = json.dumps({"records": tree}, default=str, indent=1)
    elif kind == "bulk":
        text = dumps(items)
    elif kind == "singer":
        text = "".join(
            dumps({"type": "RECORD", "stream": type_name, "record": r}) + "\n" for r in items
        )
    elif kind == "airbyte":
        text = "".join(
            dumps({"stream": type_name, "data": r, "emitted_at": 1}) + "\n" for r in items
        )
    else:  # bare JSON Lines
        text = "".join(dumps(r) + "\n" for r in items)
    return text.encode(), len(items)


def check(data: bytes, object_type: str | None = None) -> Any:
    items, tally = process(io.BytesIO(data), Options(object_type=object_type, scope="/p"))
    assert tally.records_in == tally.loaded + tally.rejected + tally.skipped
    assert len(items) == tally.records_in
    return tally


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(
        ["rest", "rest_pretty", "cli", "tree", "bulk", "singer", "airbyte", "bare"]
    ),
    items=st.lists(records, max_size=8),
    type_name=types,
    object_type=st.one_of(st.none(), types),
)
def test_any_records_in_any_envelope_balance(
    kind: str, items: list[Any], type_name: str, object_type: str | None
) -> None:
    data, expected = envelope(kind, items, type_name)
    tally = check(data, object_type)
    # bare JSON Lines whose first line is an array are read as one JSON array (by structure)
    first_is_array = kind == "bare" and bool(items) and isinstance(items[0], list)
    if not first_is_array and not any(
        isinstance(r, dict) and ENVELOPE_KEYS & r.keys() for r in items
    ):
        # (a record that is itself an envelope, e.g. {"status": 1, "result": null}, is an sf
        # CLI error envelope: that rightly marks the file as failed)
        assert not tally.file_error
        assert tally.records_in == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    check(data)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.binary(max_size=40), records.map(lambda r: dumps(r).encode())), max_size=8
    )
)
def test_jsonl_with_garbage_lines_balances(lines: list[bytes]) -> None:
    data = b"\n".join(line.replace(b"\n", b" ") for line in lines)
    check(data, "Lead")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.integers(min_value=0, max_value=200))
def test_truncated_documents_balance(prefix_text: str, cut: int) -> None:
    doc = json.dumps(
        {"totalSize": 2, "done": True, "records": [{"Id": "1", "Name": prefix_text}, {"Id": "2"}]},
        indent=1,
    ).encode()
    check(doc[: max(1, len(doc) - cut)], "Account")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, values, max_size=12), st.sampled_from(sorted(TABLE_OF)))
def test_map_record_never_raises(record: dict[str, Any], object_type: str) -> None:
    outcome = map_record(record, object_type, None)
    assert isinstance(outcome, Row | Reject | Skip)
    if isinstance(outcome, Row):
        json.loads(outcome.raw)
        assert "\x00" not in outcome.raw
        outcome.raw.encode("utf-8")
