"""The next business day of changes (revops.synthetic.next_day), planned on a generated CRM held
in memory: counts per object type follow the scale, the same (seed, day, data) give the same
records and files, every rewritten record is newer than the stored one and keeps its other
fields, new Ids are new, and each kind of late correction is there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from revops.cli import main
from revops.synthetic.calendar import LOCAL_TZ
from revops.synthetic.crm_state import CrmState, Deal, Lead, Rep, data_scale, default_day
from revops.synthetic.ids import case_safe_id
from revops.synthetic.next_day import (
    CORRECTIONS,
    NextDay,
    day_counts,
    plan_next_day,
    write_next_day,
)
from revops.synthetic.rows import SyntheticCrm
from revops.synthetic.schema import COLUMNS, Row

END = dt.date(2025, 3, 31)
DAY = END + dt.timedelta(days=1)
SEED = 42
TABLES = ("reps", "accounts", "leads", "opportunities", "activities", "lead_status_history")
Rows = dict[str, list[Row]]


@pytest.fixture(scope="module")
def rows() -> Rows:
    gen = SyntheticCrm(scale=0.01, seed=SEED, end_date=END)
    return {t: list(gen.rows(t)) for t in TABLES}


def state_of(rows: Rows) -> CrmState:
    """What read_state gives for a database holding these rows."""

    def view(table: str, fields: Sequence[str]) -> list[tuple[Any, ...]]:
        index = [COLUMNS[table].index(c) for c in fields]
        return [tuple(r[i] for i in index) for r in rows[table]]

    by_id = {t: {r[0]: r for r in rows[t]} for t in ("leads", "opportunities")}
    created = [
        r[COLUMNS[t].index("created_at")] for t in ("leads", "opportunities", "activities")
        for r in rows[t]
    ]  # fmt: skip
    return CrmState(
        reps=[Rep(*r) for r in view("reps", Rep._fields)],
        account_ids=[r[0] for r in rows["accounts"]],
        leads=[Lead(*r) for r in view("leads", Lead._fields)],
        deals=[Deal(*r) for r in view("opportunities", Deal._fields)],
        newest=max(created),
        full_rows=lambda table, ids: [by_id[table][i] for i in ids if i in by_id[table]],
    )


def plan(rows: Rows, scale: float = 0.01, seed: int = SEED) -> NextDay:
    return plan_next_day(state_of(rows), day=DAY, scale=scale, seed=seed)


def stored(rows: Rows) -> dict[str, dict[str, Row]]:
    return {"Lead": {r[0]: r for r in rows["leads"]},
            "Opportunity": {r[0]: r for r in rows["opportunities"]}}  # fmt: skip


def test_counts_follow_the_scale() -> None:
    one = day_counts(1)
    assert one == (275, 400, 70, 70, 1_370, 10)
    assert day_counts(2) == (550, 800, 140, 140, 2_740, 20)
    assert day_counts(0.001) == (5, 5, 2, 2, 20, len(CORRECTIONS))  # floors at tiny scales
    with pytest.raises(ValueError, match="positive"):
        day_counts(0)


@pytest.mark.parametrize("scale", [0.01, 0.2])
def test_records_per_object_type_match_the_counts(rows: Rows, scale: float) -> None:
    day = plan(rows, scale)
    n, changes, records = day_counts(scale), day.changes, day.records
    assert changes["new_leads"] == n.new_leads
    assert changes["status_changes"] == n.status_changes
    assert changes["new_opportunities"] == n.new_opportunities
    assert changes["closed_opportunities"] == n.closed_opportunities
    assert changes["activities"] == n.activities
    assert changes["corrections"] == n.corrections
    assert {changes[kind] for kind in CORRECTIONS} >= {1}  # every kind at least once
    late_leads = changes["lead_created_200_days_ago"] + changes["status_logged_late"]
    assert len(records["Lead"]) == n.new_leads + n.status_changes + late_leads
    assert len(records["LeadHistory"]) == n.status_changes + changes["status_logged_late"]
    deal_fixes = sum(changes[k] for k in CORRECTIONS if k.startswith(("won_", "deal_", "amount")))
    assert len(records["Opportunity"]) == (
        n.new_opportunities + n.closed_opportunities + deal_fixes
    )
    tasks, events = len(records["Task"]), len(records["Event"])
    assert tasks + events == n.activities + changes["call_logged_late"]
    if n.activities >= 200:  # a quarter are events
        assert 0.15 < events / (tasks + events) < 0.35
    assert not records["User"] and not records["Account"] and not records["CampaignMember"]


def test_same_seed_day_and_data_give_the_same_day(rows: Rows, tmp_path: Path) -> None:
    a, b = plan(rows), plan(rows)
    assert a.records == b.records and a.changes == b.changes
    assert plan(rows, seed=SEED + 1).records != a.records
    other = plan_next_day(state_of(rows), day=DAY + dt.timedelta(days=1), scale=0.01, seed=SEED)
    assert other.records != a.records
    for fmt in ("rest", "tree", "jsonl"):
        write_next_day(tmp_path / f"{fmt}-a", a, fmt=fmt, scale=0.01, seed=SEED)
        write_next_day(tmp_path / f"{fmt}-b", b, fmt=fmt, scale=0.01, seed=SEED)
        names = sorted(p.name for p in (tmp_path / f"{fmt}-a").iterdir())
        assert names == sorted(p.name for p in (tmp_path / f"{fmt}-b").iterdir())
        for name in names:
            if name == "README.md":  # it names its own directory
                continue
            assert (tmp_path / f"{fmt}-a" / name).read_bytes() == (
                tmp_path / f"{fmt}-b" / name
            ).read_bytes()


def test_rewritten_records_are_newer_and_keep_their_other_fields(rows: Rows) -> None:
    day, known = plan(rows, 0.2), stored(rows)
    rewritten = 0
    for object_type, by_id in known.items():
        columns = COLUMNS["leads" if object_type == "Lead" else "opportunities"]
        for record in day.records[object_type]:
            row = by_id.get(record["Id"])
            if row is None:
                continue
            rewritten += 1
            assert record["SystemModstamp"] > row[columns.index("system_modstamp")]
            assert record["CreatedDate"] == row[columns.index("created_at")]
            assert record["Name" if object_type == "Opportunity" else "Company"] == row[3 if
                   object_type == "Opportunity" else 4]  # fmt: skip
    assert rewritten > day.changes["status_changes"]


def test_new_records_get_new_salesforce_ids(rows: Rows) -> None:
    day = plan(rows, 0.2)
    existing = {r[0] for table in TABLES for r in rows[table]}
    prefixes = {"Lead": "00Q", "LeadHistory": "017", "Opportunity": "006", "Task": "00T",
                "Event": "00U"}  # fmt: skip
    seen: set[str] = set()
    for object_type, records in day.records.items():
        for record in records:
            record_id = record["Id"]
            assert len(record_id) == 18 and record_id == case_safe_id(record_id[:15])
            assert record_id.startswith(prefixes[object_type])
            if record_id not in existing:
                assert record_id not in seen
                seen.add(record_id)
    assert len(seen) > day.changes["activities"]


def test_new_records_happen_on_the_day(rows: Rows) -> None:
    day = plan(rows)
    for object_type in ("Task", "Event", "Opportunity"):
        for record in day.records[object_type]:
            if record["Id"] in stored(rows).get(object_type, {}):
                continue
            assert record["CreatedDate"].astimezone(LOCAL_TZ).date() == DAY, record


def test_late_corrections_reach_weeks_back(rows: Rows) -> None:
    day, known = plan(rows), stored(rows)
    weeks_back = DAY - dt.timedelta(days=14)
    late_calls = [r for r in day.records["Task"] if r["Subject"] == "Call: logged late"]
    assert late_calls and all(r["ActivityDate"] <= weeks_back for r in late_calls)
    imported = [r for r in day.records["Lead"] if r["Id"] not in known["Lead"]
                and r["CreatedDate"].date() < DAY - dt.timedelta(days=150)]  # fmt: skip
    assert len(imported) == day.changes["lead_created_200_days_ago"] >= 1
    late_history = [r for r in day.records["LeadHistory"] if r["CreatedDate"].date() <= weeks_back]
    assert len(late_history) == day.changes["status_logged_late"] >= 1
    deals = [r for r in day.records["Opportunity"] if r["Id"] in known["Opportunity"]]
    assert any(r["IsDeleted"] for r in deals)
    assert any(r["IsWon"] and r["CloseDate"] <= weeks_back for r in deals)


def test_status_changes_are_lead_records_plus_history(rows: Rows) -> None:
    day = plan(rows, 0.2)
    leads = {r["Id"]: r for r in day.records["Lead"]}
    for history in day.records["LeadHistory"]:
        lead = leads[history["LeadId"]]
        assert history["NewValue"] == lead["Status"] != history["OldValue"]
        assert history["CreatedDate"] == lead["LastModifiedDate"]
    converted = [r for r in leads.values() if r["IsConverted"] and r["ConvertedDate"] == DAY]
    new_deals = {r["Id"] for r in day.records["Opportunity"]}
    assert converted and all(r["ConvertedOpportunityId"] in new_deals for r in converted)


def test_default_day_and_scale_follow_the_data(rows: Rows) -> None:
    state = state_of(rows)
    assert default_day(state) == DAY
    assert data_scale(state) == 0.01


def test_cli_next_day_needs_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--next-day"]) == 2
    assert "--next-day needs --out" in capsys.readouterr().err
    assert main(["generate", "--date", "2025-04-01", "--format", "rest", "--out", "x"]) == 2
    assert "--date goes with --next-day" in capsys.readouterr().err


def test_cli_help_explains_next_day(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    text = capsys.readouterr().out
    assert "--next-day" in text and "SystemModstamp" in text and "LeadHistory" in text
