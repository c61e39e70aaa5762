"""Ids, lenient values, raw JSON and field mapping: no database."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from revops.ingest import ids, values
from revops.ingest.fields import Reject, Row, Skip, TreeScope, map_record
from revops.ingest.objects import canonical_type, type_from_id
from revops.ingest.rawjson import Unstorable, to_json

UTC = dt.UTC


@pytest.mark.parametrize(
    ("short", "long"),
    [
        ("00Q0S000002QgjU", "00Q0S000002QgjUUAS"),
        ("0010S00000C1t21", "0010S00000C1t21QAB"),
        ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
        ("005000000000000", "005000000000000AAA"),
    ],
)
def test_15_character_ids_get_their_checksum_suffix(short: str, long: str) -> None:
    assert ids.to_18(short) == long
    assert ids.normalise_id(short) == long
    assert ids.normalise_id(f"  {short} ") == long
    assert ids.normalise_id(long) == long


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12345, "12345"),
        (100000000000001, "100000000000001"),  # a JSON integer is never suffixed
        ("rep-7", "rep-7"),
        ("", None),
        ("   ", None),
        (None, None),
        (True, None),
        ({"Id": "x"}, None),
        ([1], None),
        (Decimal("1.5"), None),
        (Decimal(12), "12"),
        ("0010S00000C1t21!", "0010S00000C1t21!"),
    ],
)
def test_id_values(value: object, expected: str | None) -> None:
    assert ids.normalise_id(value) == expected


def test_tree_reference_ids() -> None:
    assert ids.id_from_reference("ref00Q0S000002QgjUUAS", "/a") == "00Q0S000002QgjUUAS"
    assert ids.id_from_reference("ref0010S00000C1t21", "/a") == "0010S00000C1t21QAB"
    derived = ids.id_from_reference("AccountRef1", "/exports/a")
    assert derived == ids.resolve_ref("@AccountRef1", "/exports/a")
    assert derived != ids.id_from_reference("AccountRef1", "/exports/b")
    assert derived.startswith("tree:") and derived.endswith(":AccountRef1")
    assert ids.resolve_ref("@", "/a") is None


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-10T07:30:00.000+0000",
        "2024-03-10T07:30:00.000Z",
        "2024-03-10T07:30:00Z",
        "2024-03-10T07:30:00+00:00",
        "2024-03-10T07:30:00",
        "2024-03-10 07:30:00",
        "2024-03-10T07:30Z",
        "2024-03-10T02:30:00.000-0500",
        "2024-03-10T02:30:00-05",
        " 2024-03-10T07:30:00.000000Z ",
    ],
)
def test_every_salesforce_datetime_spelling(text: str) -> None:
    assert values.parse_datetime(text) == dt.datetime(2024, 3, 10, 7, 30, tzinfo=UTC)


def test_datetime_details() -> None:
    assert values.parse_datetime("2024-03-10T07:30:00.123456789Z") == dt.datetime(
        2024, 3, 10, 7, 30, 0, 123456, tzinfo=UTC
    )
    assert values.parse_datetime("2024-03-10") == dt.datetime(2024, 3, 10, tzinfo=UTC)
    assert values.parse_datetime("") is None
    assert values.parse_datetime(None) is None


@pytest.mark.parametrize(
    "bad",
    [
        "2024-02-30",
        "2024-13-01T00:00:00Z",
        "yesterday",
        "2024-03-10T25:00:00Z",
        1710055800,
        "2024-03-10T07:30:00+2500",
        True,
        {"d": 1},
        "0000-01-01",
        "10/03/2024",
    ],
)
def test_unparseable_datetimes_raise(bad: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is not the contract
        values.parse_datetime(bad)


def test_dates() -> None:
    assert values.parse_date("2024-02-29") == (dt.date(2024, 2, 29), False)
    assert values.parse_date("2020-12-22T21:16:01Z") == (dt.date(2020, 12, 22), True)
    assert values.parse_date("2020-12-22T23:00:00-05:00") == (dt.date(2020, 12, 22), True)
    assert values.parse_date("") == (None, False)
    with pytest.raises(ValueError):  # noqa: PT011
        values.parse_date("2024-02-30")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1200.50", Decimal("1200.50")),
        (" 1200.50 ", Decimal("1200.50")),
        ("1,200.50", Decimal("1200.50")),
        ("-1E02", Decimal("-1E+2")),
        (220000, Decimal(220000)),
        (Decimal("0.10"), Decimal("0.10")),
        ("", None),
        (None, None),
    ],
)
def test_numbers(value: object, expected: Decimal | None) -> None:
    assert values.parse_number(value) == expected


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "1e999999", "12abc", "1,2", True, "$5", [1]])
def test_unparseable_numbers_raise(bad: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        values.parse_number(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        ("true", True),
        ("TRUE", True),
        ("1", True),
        (1, True),
        ("yes", True),
        (False, False),
        ("false", False),
        ("0", False),
        ("f", False),
        ("", None),
        (None, None),
    ],
)
def test_booleans(value: object, expected: bool | None) -> None:
    assert values.parse_bool(value) is expected


def test_raw_json_keeps_decimals_and_rejects_what_postgres_cannot_store() -> None:
    record = {"Amount": Decimal("1200.50"), "n": 3, "s": "Ω 😀 \u202a\u200b"}
    assert json.loads(to_json(record), parse_float=Decimal) == record
    assert '"Amount":1200.50' in to_json(record)
    for bad in ({"s": "a\x00b"}, {"a\x00": 1}, {"s": "\ud800"}, {"n": Decimal("1e999999")}):
        with pytest.raises(Unstorable):
            to_json(bad)
    deep: object = 1
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(Unstorable):
        to_json({"deep": deep})


def test_object_type_names() -> None:
    assert canonical_type("Lead") == "Lead"
    assert canonical_type("leads") == "Lead"
    assert canonical_type("campaign_member") == "CampaignMember"
    assert canonical_type("salesforce.Opportunity") == "Opportunity"
    assert canonical_type("Car__c") == "Car__c"
    assert canonical_type("") is None
    assert type_from_id("00Q0S000002QgjUUAS") == "Lead"
    assert type_from_id("rep-1") is None


def _row(outcome: object) -> Row:
    assert isinstance(outcome, Row), outcome
    return outcome


def test_field_names_are_case_insensitive_with_snake_case_aliases() -> None:
    spellings = [
        {
            "Id": "00Q0S000002QgjU",
            "LeadSource": "Web",
            "Status": "Open",
            "CreatedDate": "2024-01-02T03:04:05Z",
        },
        {
            "id": "00Q0S000002QgjU",
            "leadsource": "Web",
            "status": "Open",
            "createddate": "2024-01-02T03:04:05Z",
        },
        {
            "lead_id": "00Q0S000002QgjU",
            "lead_source": "Web",
            "status": "Open",
            "created_at": "2024-01-02T03:04:05Z",
        },
    ]
    rows = [_row(map_record(r, "Lead", None)) for r in spellings]
    assert len({r.values for r in rows}) == 1
    assert rows[0].values[0] == "00Q0S000002QgjUUAS"


def test_bulk_strings_and_relationship_columns() -> None:
    record = {
        "Id": "0060S000006FFuE",
        "AccountId": "0010S00000C1t21",
        "OwnerId": "",
        "Owner.Name": "Ada",
        "Amount": "1200.50",
        "IsWon": "true",
        "IsClosed": "maybe",
        "CloseDate": "2024-05-01",
        "Custom__c": "kept",
    }
    row = _row(map_record(record, "Opportunity", None))
    names = (
        "opportunity_id",
        "account_id",
        "owner_id",
        "name",
        "stage_name",
        "amount",
        "close_date",
        "is_closed",
        "is_won",
    )
    assert dict(zip(names, row.values, strict=False)) == {
        "opportunity_id": "0060S000006FFuEQAW",
        "account_id": "0010S00000C1t21QAB",
        "owner_id": None,
        "name": None,
        "stage_name": None,
        "amount": Decimal("1200.50"),
        "close_date": dt.date(2024, 5, 1),
        "is_closed": None,
        "is_won": True,
    }
    assert row.flags == ["unparsed_boolean:IsClosed"]
    assert json.loads(row.raw) == record


def test_rejections() -> None:
    assert map_record({"Name": "x"}, "Account", None) == Reject("no usable Id")
    assert map_record({"Id": True}, "Account", None) == Reject("no usable Id")
    bad_date = map_record({"Id": "1", "CloseDate": "2024-02-30"}, "Opportunity", None)
    assert isinstance(bad_date, Reject) and bad_date.reason.startswith(
        "unparseable date in CloseDate"
    )
    bad_amount = map_record({"Id": "1", "amount": "lots"}, "Opportunity", None)
    assert isinstance(bad_amount, Reject) and bad_amount.reason.startswith(
        "unparseable number in amount"
    )
    bad_dt = map_record({"Id": "1", "CreatedDate": "soon"}, "Lead", None)
    assert isinstance(bad_dt, Reject) and bad_dt.reason.startswith("unparseable datetime")
    nul = map_record({"Id": "1", "Name": "a\x00"}, "Account", None)
    assert isinstance(nul, Reject) and nul.reason.startswith("unstorable value")


def test_tree_records_recover_or_derive_their_keys() -> None:
    scope = TreeScope("/exports/x")
    tree = {
        "attributes": {"type": "Opportunity", "referenceId": "OpportunityRef1"},
        "AccountId": "@AccountRef1",
    }
    row = _row(map_record(tree, "Opportunity", scope))
    assert row.values[0] == ids.id_from_reference("OpportunityRef1", "/exports/x")
    assert row.values[1] == ids.id_from_reference("AccountRef1", "/exports/x")
    assert row.refs_used == ["AccountRef1"]


def test_activities_and_history() -> None:
    event = _row(
        map_record({"Id": "00U1", "ActivityDateTime": "2024-01-01T10:00:00Z"}, "Event", None)
    )
    assert event.values[1] == "Event"
    assert event.values[11] == dt.datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert event.values[12] is False  # is_child defaults to false
    status = {
        "Id": "017a",
        "LeadId": "00Q0S000002QgjU",
        "Field": "Status",
        "OldValue": "Open",
        "NewValue": "Qualified",
        "CreatedDate": "2024-01-01T00:00:00Z",
    }
    row = _row(map_record(status, "LeadHistory", None))
    assert row.values[:6] == (
        "017a",
        "00Q0S000002QgjUUAS",
        dt.datetime(2024, 1, 1, tzinfo=UTC),
        "Open",
        "Qualified",
        "LeadHistory",
    )
    assert isinstance(map_record({**status, "Field": "Rating"}, "LeadHistory", None), Skip)
    assert isinstance(map_record({**status, "CreatedDate": ""}, "LeadHistory", None), Reject)
