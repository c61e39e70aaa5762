"""A realistic daily cycle: generated CRM, backfill, the next business day of changes written by
`revops generate --next-day`, loaded by `revops ingest`, one ordinary run, then verify.

The module runs the cycle once (scale 0.01, data ending yesterday, 60 days backfilled) and the
tests read what it left: every record of the day won its upsert, the run consumed the day's
captured changes (late corrections included, so days weeks back), and the facts equal a full
recompute of the backfilled range.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pgtest import cli, owner_connection, reset_crm, reset_metrics, role_connection
from revops import config, runs
from revops.ingest.cli import summarise
from revops.synthetic.crm_state import default_day, read_state
from revops.synthetic.export import load_export
from revops.synthetic.load import load_synthetic
from revops.synthetic.next_day import CORRECTIONS

pytestmark = pytest.mark.db

SCALE, SEED = 0.01, 5
BACKFILL_DAYS = 60
OTHER_FORMATS = ("tree", "bulk", "singer")


@dataclass
class Cycle:
    env: dict[str, str]
    day: dt.date
    first: dt.date
    last: dt.date
    generated: dict[str, Any]  # the --next-day summary
    out: Path
    ingest: subprocess.CompletedProcess[str]
    run: dict[str, Any]
    verify: dict[str, Any]
    verify_before_run: dict[str, Any]
    leads_before: int


def revops(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result: subprocess.CompletedProcess[str] = cli(env, *args)
    return result


def scalar(env: dict[str, str], query: str, params: tuple[Any, ...] = ()) -> Any:
    with role_connection(env, "revops_etl", config.source_db_name(env)) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture(scope="module")
def cycle(pg_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cycle]:
    etl = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    owner = owner_connection(pg_env)
    try:
        reset_crm(etl)
        reset_metrics(owner)
        load_synthetic(etl, scale=SCALE, seed=SEED)  # the two years ending yesterday (UTC)
        leads_before = int(scalar(pg_env, "SELECT count(*) FROM crm.leads"))
        with runs.runner_connection(pg_env) as conn:
            # the first run consumes the load's captured changes; the backfill computes the days
            assert runs.run_due(conn, "manual").ok
            first, last = runs.backfill_range(conn, BACKFILL_DAYS, None, None)
            assert runs.backfill(conn, first, last).ok
        out = tmp_path_factory.mktemp("next-day")
        generated = revops(pg_env, "generate", "--next-day", "--out", str(out), "--seed", "5")
        assert generated.returncode == 0, generated.stderr
        summary = json.loads(generated.stdout)
        for fmt in OTHER_FORMATS:  # the same day (same data) in other envelopes, for later
            other = revops(pg_env, "generate", "--next-day", "--out", f"{out}-{fmt}",
                           "--format", fmt, "--seed", "5")  # fmt: skip
            assert other.returncode == 0, other.stderr
        ingest = revops(pg_env, "ingest", str(out))
        with runs.runner_connection(pg_env) as conn:
            before = runs.verify(conn, first, last)
            outcome = runs.run_due(conn, "manual")
            checked = runs.verify(conn, first, last)
        yield Cycle(
            pg_env,
            dt.date.fromisoformat(summary["next_day"]),
            first,
            last,
            summary,
            out,
            ingest,
            outcome.results[0],
            checked,
            before,
            leads_before,
        )
    finally:
        reset_crm(etl)
        reset_metrics(owner)
        etl.close()
        owner.close()


def test_the_day_follows_the_data_and_holds_every_kind_of_change(cycle: Cycle) -> None:
    assert cycle.day == dt.datetime.now(dt.UTC).date()  # the data ends yesterday
    changes = cycle.generated["changes"]
    assert cycle.generated["scale"] == SCALE  # the data's own size
    for kind in ("new_leads", "status_changes", "activities"):
        assert changes[kind] >= 5, kind
    assert changes["new_opportunities"] >= 2 and changes["closed_opportunities"] >= 2
    assert {kind: changes[kind] for kind in CORRECTIONS} == dict.fromkeys(CORRECTIONS, 1)


def test_ingest_loads_every_record(cycle: Cycle) -> None:
    assert cycle.ingest.returncode == 0, cycle.ingest.stderr
    total = sum(cycle.generated["records"].values())
    batches = f"FROM crm.ingest_batches WHERE source_name LIKE '{cycle.out}%%'"
    assert scalar(cycle.env, "SELECT sum(records_loaded) " + batches) == total
    assert scalar(cycle.env, "SELECT sum(records_rejected + records_skipped) " + batches) == 0
    new_leads = cycle.generated["changes"]["new_leads"] + 1  # and the 200-day-old import
    assert scalar(cycle.env, "SELECT count(*) FROM crm.leads") == cycle.leads_before + new_leads


def test_every_changed_record_won_its_upsert(cycle: Cycle) -> None:
    """Ingest keeps the newest SystemModstamp: each record of the day is what crm now holds."""
    tables = {"Lead": "leads", "Opportunity": "opportunities", "LeadHistory": "lead_status_history"}
    for path in sorted(cycle.out.glob("*-0001.json")):
        object_type = path.name.split("-")[0]
        if object_type not in tables:
            continue
        records = json.loads(path.read_text())["records"]
        key = {"leads": "lead_id", "opportunities": "opportunity_id"}.get(
            tables[object_type], "history_id"
        )
        stored = scalar(
            cycle.env,
            f"SELECT count(*) FROM crm.{tables[object_type]}"  # names from this test
            f" WHERE {key} = ANY(%s) AND to_char(system_modstamp AT TIME ZONE 'UTC',"
            " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS+0000') = ANY(%s)",
            ([r["Id"] for r in records], [r["SystemModstamp"] for r in records]),
        )
        assert stored == len(records), object_type
    deleted = scalar(
        cycle.env,
        "SELECT count(*) FROM crm.opportunities WHERE is_deleted"
        " AND system_modstamp >= %s::date - 1",
        (cycle.day,),
    )
    assert deleted >= 1


def test_the_run_consumed_changes_weeks_back(cycle: Cycle) -> None:
    run = cycle.run
    assert run["status"] == "succeeded", run
    assert run["changes_consumed"] > 0
    changed_from = dt.date.fromisoformat(run["changed_from"])
    assert changed_from <= cycle.day - dt.timedelta(days=14)
    # the changed leads moved the lead facts of the days they reach without recomputing them:
    # the run recomputed the days of the deal and activity changes, not every backfilled day
    assert run["lead_state"]["rebuilt"] is False
    assert run["lead_state"]["leads"] >= cycle.generated["changes"]["new_leads"]
    assert run["lead_state"]["funnel_rows"] > 0 and run["lead_state"]["snapshot_rows"] > 0
    assert run["days"] < BACKFILL_DAYS


def test_verify_finds_no_differing_rows(cycle: Cycle) -> None:
    # the day moved facts in the backfilled range (days weeks back among them), the run fixed them
    assert cycle.verify_before_run["differing"] > 0
    late = dt.date.fromisoformat(cycle.verify_before_run["rows"][0]["metric_date"])
    assert late <= cycle.day - dt.timedelta(days=14)
    assert cycle.verify["days"] == BACKFILL_DAYS
    assert cycle.verify["differing"] == 0, cycle.verify["rows"]


def test_the_next_day_after_that_is_the_following_one(cycle: Cycle) -> None:
    with role_connection(cycle.env, "revops_etl", config.source_db_name(cycle.env)) as conn:
        assert default_day(read_state(conn)) == cycle.day + dt.timedelta(days=1)


def test_same_seed_day_and_data_give_the_same_files(cycle: Cycle, tmp_path: Path) -> None:
    day = cycle.day.isoformat()
    for name in ("a", "b"):
        done = revops(cycle.env, "generate", "--next-day", "--out", str(tmp_path / name),
                      "--date", day, "--seed", "5")  # fmt: skip
        assert done.returncode == 0, done.stderr
    a = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert a == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.parametrize("fmt", OTHER_FORMATS)
def test_the_same_day_in_another_envelope_changes_nothing(cycle: Cycle, fmt: str) -> None:
    """Every envelope carries the same records: loading the day again, written as ``fmt``
    before the first load, finds every record unchanged."""
    with role_connection(cycle.env, "revops_etl", config.source_db_name(cycle.env)) as conn:
        report = summarise(load_export(conn, Path(f"{cycle.out}-{fmt}")))
    assert report["loaded"] == report["unchanged"] == sum(cycle.generated["records"].values())
    assert report["rejected"] == report["inserted"] == report["updated"] == 0
