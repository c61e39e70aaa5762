"""The synthetic CRM generator without a database: determinism, Ids, messiness, consistency.

Rows are produced by the same generators load_synthetic streams into COPY, at scale 0.02 (the
demo's scale), so every messiness feature the metric rules care about must already be there.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from revops.synthetic.ids import case_safe_id, sf_id
from revops.synthetic.plans import target_counts
from revops.synthetic.rows import SyntheticCrm
from revops.synthetic.schema import COLUMNS, TABLES

END = dt.date(2025, 6, 30)  # the two years hold DST changes in 2023-11, 2024-03/11, 2025-03
NY = ZoneInfo("America/New_York")
Rows = dict[str, list[dict[str, Any]]]


def generate(
    scale: float = 0.02, seed: int = 7, end: dt.date = END
) -> dict[str, list[tuple[Any, ...]]]:
    crm = SyntheticCrm(scale=scale, seed=seed, end_date=end)
    return {table: list(crm.rows(table, batch_id=1)) for table in TABLES}


@pytest.fixture(scope="module")
def raw_rows() -> dict[str, list[tuple[Any, ...]]]:
    return generate()


@pytest.fixture(scope="module")
def rows(raw_rows: dict[str, list[tuple[Any, ...]]]) -> Rows:
    return {t: [dict(zip(COLUMNS[t], r, strict=True)) for r in rs] for t, rs in raw_rows.items()}


def test_same_seed_same_rows_other_seed_other_rows(
    raw_rows: dict[str, list[tuple[Any, ...]]],
) -> None:
    assert generate() == raw_rows
    other = generate(seed=8)
    for table in TABLES:
        assert other[table] != raw_rows[table], table
    later = SyntheticCrm(scale=0.02, seed=7, end_date=END + dt.timedelta(days=1))
    assert list(later.rows("leads", batch_id=1)) != raw_rows["leads"]


def test_tables_can_be_generated_in_any_order(raw_rows: dict[str, list[tuple[Any, ...]]]) -> None:
    crm = SyntheticCrm(scale=0.02, seed=7, end_date=END)
    assert list(crm.rows("opportunities", batch_id=1)) == raw_rows["opportunities"]
    assert list(crm.rows("activities", batch_id=1)) == raw_rows["activities"]


def test_counts_scale_linearly() -> None:
    assert target_counts(1) == (50, 20_000, 200_000, 50_000, 1_000_000)
    assert target_counts(0.02) == (5, 400, 4_000, 1_000, 20_000)
    assert target_counts(0.5) == (25, 10_000, 100_000, 25_000, 500_000)
    assert target_counts(0.0001).reps >= 5  # a few reps at tiny scales
    for bad in (0, -1, math.nan, math.inf):
        with pytest.raises(ValueError, match="scale"):
            target_counts(bad)


def test_row_counts(rows: Rows) -> None:
    n = target_counts(0.02)
    assert len(rows["reps"]) == n.reps
    assert len(rows["accounts"]) == n.accounts
    assert len(rows["leads"]) == n.leads
    assert len(rows["opportunities"]) == n.opportunities
    assert len(rows["activities"]) == n.activities
    assert 1.0 < len(rows["lead_status_history"]) / n.leads < 2.0
    assert 0.2 < len(rows["interactions"]) / n.leads < 0.6
    assert all(len(r) == len(COLUMNS[t]) for t, rs in rows.items() for r in rs)


def test_case_safe_suffix() -> None:
    assert case_safe_id("001D000000IqhSL") == "001D000000IqhSLIAZ"  # Salesforce's own example
    for number in (0, 1, 61, 62, 3843, 3844, 916_132_831, 62**9 - 1, 123_456_789_012):
        made = sf_id("00Q", "Hx", number)
        assert len(made) == 18
        assert made == case_safe_id(made[:15])
    assert sf_id("00Q", "Hx", 1) != sf_id("00Q", "Hx", 2)


PREFIXES = {
    ("reps", "rep_id"): "005",
    ("accounts", "account_id"): "001",
    ("leads", "lead_id"): "00Q",
    ("opportunities", "opportunity_id"): "006",
    ("lead_status_history", "history_id"): "017",
    ("interactions", "interaction_id"): "00v",
}


@pytest.mark.parametrize(("table", "column"), list(PREFIXES))
def test_ids_are_unique_18_char_with_key_prefix(rows: Rows, table: str, column: str) -> None:
    ids = [r[column] for r in rows[table]]
    assert len(set(ids)) == len(ids)
    for value in ids:
        assert len(value) == 18
        assert value.startswith(PREFIXES[table, column])
        assert value == case_safe_id(value[:15])


def test_activity_ids_follow_the_object(rows: Rows) -> None:
    ids = [r["activity_id"] for r in rows["activities"]]
    assert len(set(ids)) == len(ids)
    for r in rows["activities"]:
        assert len(r["activity_id"]) == 18
        assert r["activity_id"][:3] == {"Task": "00T", "Event": "00U"}[r["source_object"]]


def test_ids_differ_between_seeds(rows: Rows) -> None:
    other = SyntheticCrm(scale=0.02, seed=8, end_date=END)
    assert other.lead_ids[0] != rows["leads"][0]["lead_id"]


def test_references_point_at_generated_rows(rows: Rows) -> None:
    reps = {r["rep_id"] for r in rows["reps"]}
    leads = {r["lead_id"] for r in rows["leads"]}
    opps = {r["opportunity_id"] for r in rows["opportunities"]}
    accounts = {r["account_id"] for r in rows["accounts"]}
    assert {r["manager_id"] for r in rows["reps"]} - {None} <= reps
    assert {r["owner_id"] for r in rows["accounts"]} <= reps
    assert {r["owner_id"] for r in rows["opportunities"]} <= reps
    assert {r["account_id"] for r in rows["opportunities"]} <= accounts
    assert {r["lead_id"] for r in rows["lead_status_history"]} <= leads
    assert {r["lead_id"] for r in rows["interactions"]} <= leads
    assert {r["who_id"] for r in rows["activities"]} - {None} <= leads
    assert {r["what_id"] for r in rows["activities"]} - {None} <= opps | accounts
    lead_owners = {r["owner_id"] for r in rows["leads"]}
    assert lead_owners <= reps | {o for o in lead_owners if o.startswith("00G")}


def test_deleted_rows_in_every_table(rows: Rows) -> None:
    for table in TABLES:
        deleted = sum(r["is_deleted"] for r in rows[table])
        assert deleted >= 1, table
        if table != "reps":
            assert 0.01 <= deleted / len(rows[table]) <= 0.025, table


def test_lead_sources_are_messy(rows: Rows) -> None:
    sources = Counter(r["lead_source"] for r in rows["leads"])
    for value in (None, "", "  ", " Web ", "Web", "Phone Inquiry", "Partner Referral",
                  "Trade Show", "Purchased List", "Other"):  # fmt: skip
        assert sources[value] > 0, value
    assert sources["Web"] / len(rows["leads"]) > 0.15


def test_owners_include_queues_nulls_unknowns_and_inactive_reps(rows: Rows) -> None:
    reps = {r["rep_id"]: r for r in rows["reps"]}
    queue_leads = [r for r in rows["leads"] if r["owner_id"].startswith("00G")]
    assert 0.04 < len(queue_leads) / len(rows["leads"]) < 0.12
    owners = Counter(r["owner_id"] for r in rows["activities"])
    assert owners[None] > 0
    unknown = [o for o in owners if o is not None and o not in reps]
    assert unknown
    assert all(len(o) == 18 and o.startswith("005") for o in unknown)
    inactive = [rid for rid, r in reps.items() if r["is_active"] is False and not r["is_deleted"]]
    assert inactive
    assert any(owners[rid] > 0 for rid in inactive)
    assert sum(r["is_deleted"] for r in reps.values()) == 1


def test_lead_statuses_in_several_spellings(rows: Rows) -> None:
    statuses = Counter(r["status"] for r in rows["leads"])
    for value in ("Open - Not Contacted", "Working - Contacted", "Qualified", "qualified ",
                  "Unqualified", "Closed - Converted", None):  # fmt: skip
        assert statuses[value] > 0, value


def test_history_is_consistent_with_current_status(rows: Rows) -> None:
    crm = SyntheticCrm(scale=0.02, seed=7, end_date=END)
    leads = {r["lead_id"]: r for r in rows["leads"]}
    by_lead: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for h in rows["lead_status_history"]:
        assert h["history_source"] == "generator"
        by_lead[h["lead_id"]].append(h)
    assert len(by_lead) > len(leads) / 2
    for lead_id, changes in by_lead.items():
        lead = leads[lead_id]
        changes.sort(key=lambda h: h["changed_at"])
        assert changes[0]["old_status"] == "Open - Not Contacted"
        for before, after in itertools.pairwise(changes):
            assert before["new_status"] == after["old_status"]
            assert before["changed_at"] < after["changed_at"]
        assert changes[-1]["new_status"] == lead["status"]
        assert lead["created_at"] < changes[0]["changed_at"]
        assert changes[-1]["changed_at"] < crm.cal.end
        assert all(h["is_deleted"] == lead["is_deleted"] for h in changes)
    # a lead that went back from qualified to working: "first change into qualified" matters
    assert any(
        [h["new_status"] for h in sorted(c, key=lambda h: h["changed_at"])][-2:]
        in (["Qualified", "Working - Contacted"], ["qualified ", "Working - Contacted"])
        for c in by_lead.values()
    )
    # leads with a qualified current status but no history (qualified on their created day)
    assert any(
        r["status"] in ("Qualified", "qualified ") and r["lead_id"] not in by_lead
        for r in rows["leads"]
    )
    assert all(r["lead_id"] not in by_lead for r in rows["leads"] if r["status"] is None)


def test_converted_leads_point_at_their_opportunity(rows: Rows) -> None:
    opps = {r["opportunity_id"]: r for r in rows["opportunities"]}
    history: dict[str, dt.datetime] = {}
    for h in rows["lead_status_history"]:
        history[h["lead_id"]] = max(history.get(h["lead_id"], h["changed_at"]), h["changed_at"])
    converted = [r for r in rows["leads"] if r["is_converted"]]
    assert len(converted) > 0.1 * len(rows["leads"])
    for lead in converted:
        assert lead["status"] == "Closed - Converted"
        opp = opps[lead["converted_opportunity_id"]]
        assert opp["created_at"] == history[lead["lead_id"]]
        assert lead["converted_date"] == opp["created_at"].astimezone(NY).date()
        assert lead["converted_account_id"] == opp["account_id"]
        if opp["lead_source"] is not None:
            assert opp["lead_source"] == lead["lead_source"]
    assert all(r["converted_date"] is None for r in rows["leads"] if not r["is_converted"])
    null_source = [
        l for l in converted if opps[l["converted_opportunity_id"]]["lead_source"] is None
    ]
    assert 0.25 < len(null_source) / len(converted) < 0.55
    ids = [r["converted_opportunity_id"] for r in converted]
    assert len(set(ids)) == len(ids)


def test_opportunities_are_messy(rows: Rows) -> None:
    opps = rows["opportunities"]
    assert any(r["amount"] is None for r in opps)
    assert any(r["is_won"] is True and r["close_date"] is None for r in opps)
    assert any(r["is_won"] is None and r["stage_name"] == "Closed Won" for r in opps)
    assert any(r["is_won"] is None and r["stage_name"] == "Closed/Won" for r in opps)
    assert any(r["is_won"] is None and r["stage_name"] == "Closed Lost" for r in opps)
    won = [r for r in opps if r["is_won"]]
    assert 0.15 < len(won) / len(opps) < 0.45
    assert all(r["stage_name"] == "Closed Won" and r["is_closed"] for r in won)
    assert all(r["close_date"] <= END for r in won if r["close_date"] is not None)
    amounts = [r["amount"] for r in opps if r["amount"] is not None]
    assert all(isinstance(a, Decimal) and a.as_tuple().exponent == -2 for a in amounts)
    assert any(a % 1 != 0 for a in amounts)
    assert all(r["created_at"].astimezone(NY).date() <= (r["close_date"] or END) for r in won)


def test_activities_are_messy(rows: Rows) -> None:
    acts = rows["activities"]
    tasks = [r for r in acts if r["source_object"] == "Task"]
    events = [r for r in acts if r["source_object"] == "Event"]
    assert 0.2 < len(events) / len(acts) < 0.3
    assert Counter(r["task_subtype"] for r in tasks).keys() == {
        "Call",
        "Email",
        "List Email",
        "Task",
    }
    types = {r["type"] for r in acts}
    assert {"Call", "call", "Email", "email", "Meeting", "meeting", None} <= types
    assert any(r["call_type"] for r in tasks if r["task_subtype"] == "Call")
    assert any(r["call_type"] for r in tasks if r["task_subtype"] == "Task")
    assert any(r["activity_date"] is None for r in tasks)
    assert any(r["activity_date"] is not None for r in tasks)
    assert all(r["activity_at"] is None for r in tasks)
    assert sum(r["activity_at"] is not None for r in events) > 0.9 * len(events)
    assert any(r["activity_at"] is None and r["activity_date"] is not None for r in events)
    children = [r for r in events if r["is_child"]]
    assert 0 < len(children) < 0.05 * len(events)
    parents = {(r["activity_at"], r["subject"], r["who_id"]) for r in events if not r["is_child"]}
    assert all((c["activity_at"], c["subject"], c["who_id"]) in parents for c in children)
    assert not any(r["is_child"] for r in tasks)


def test_timestamps_cluster_at_local_midnight_and_dst_days(rows: Rows) -> None:
    crm = SyntheticCrm(scale=0.02, seed=7, end_date=END)
    start, end = crm.cal.start, crm.cal.end
    stamps = [r["created_at"] for r in rows["leads"]] + [
        r["activity_at"] for r in rows["activities"] if r["activity_at"] is not None
    ]
    assert all(s.tzinfo is not None and start <= s < end for s in stamps)
    local = [s.astimezone(NY) for s in stamps]
    near_midnight = [
        t for t in local if (t.hour == 23 and t.minute >= 30) or (t.hour == 0 and t.minute < 30)
    ]
    assert len(near_midnight) > 0.02 * len(stamps)
    assert any(t.hour == 23 for t in near_midnight) and any(t.hour == 0 for t in near_midnight)
    dst_days = {
        dt.date(2024, 3, 10),
        dt.date(2024, 11, 3),
        dt.date(2025, 3, 9),
        dt.date(2023, 11, 5),
    }
    assert {crm.cal.dates[k] for k in crm.cal.dst_days} == dst_days
    on_dst = [t for t in local if t.date() in dst_days]
    assert len(on_dst) > 0.005 * len(stamps)
    assert any(t.hour in (1, 2, 3) for t in on_dst)  # night hours around the clock change
    # the repeated 01:00-02:00 hour of a fall-back day (fold=1 is its second pass)
    assert any(t.date().month == 11 and t.hour == 1 for t in on_dst)


def test_raw_is_a_salesforce_shaped_record(rows: Rows) -> None:
    types = {"reps": "User", "accounts": "Account", "leads": "Lead", "opportunities": "Opportunity",
             "lead_status_history": "LeadHistory", "interactions": "CampaignMember"}  # fmt: skip
    for table in TABLES:
        key = COLUMNS[table][0]
        for r in rows[table][:200]:
            raw = json.loads(json.dumps(r["raw"]))  # COPY sends it through the jsonb dumper
            assert raw["Id"] == r[key]
            expected = r["source_object"] if table == "activities" else types[table]
            assert raw["attributes"]["type"] == expected
    lead = rows["leads"][0]["raw"]
    assert lead["CreatedDate"].endswith("+0000")
    assert "Lead_Score__c" in lead
