"""The qualification day of each lead (ARCHITECTURE.md section 6), exactly, for the cases a
derivation from the status segments could get wrong: metrics.lead_qualification reads each lead
once, from crm.lead_status_segments, and must give what the rules say about the lead and its
status history.

Hand-made leads, each created at noon UTC (the suite's business time zone) on day C, with their
expected qualification day written out by hand. They are checked after the ordinary run
(metrics.run_due: the changed leads re-derived through the change log) and after a rebuild of
the whole state (metrics.sync_lead_state(true)).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from pgtest import insert_rows, owner_connection, reset_crm, reset_metrics, role_connection
from revops import config

pytestmark = pytest.mark.db

TODAY = dt.datetime.now(dt.UTC).date()
C = TODAY - dt.timedelta(days=20)  # every lead's created day


def at(day: int, hour: int = 12) -> dt.datetime:
    """Day C + day, at hour (UTC)."""
    return dt.datetime.combine(C + dt.timedelta(days=day), dt.time(hour), tzinfo=dt.UTC)


def lead(lead_id: str, status: str | None, **more: Any) -> dict[str, Any]:
    row = {
        "lead_id": lead_id,
        "lead_source": "Web",
        "status": status,
        "created_at": at(0),
        "last_modified_at": at(0),
    }
    row.update(more)
    return row


LEADS = [
    # a change from a qualified into another qualified status (old_status 'Qualified', an
    # inconsistent export) before the first change from a non-qualified one: rule 1b is the
    # latter, day 3 (statuses compared trimmed and lowercased)
    lead("A", "SQL", last_modified_at=at(3)),
    # a lagging qualified current status: the history says Working, the lead says SQL since
    # its last modification on day 4 (rule 3), not since its created day
    lead("B", "SQL", last_modified_at=at(4)),
    # converted, is_converted NULL: its converted_date (rule 2)
    lead("C", "Open", is_converted=None, converted_date=C + dt.timedelta(days=5)),
    # converted_date but is_converted false: not rule 2, and nothing else applies
    lead("K", "Open", is_converted=False, converted_date=C + dt.timedelta(days=5)),
    # first history row without old_status: it started with its current status, SQL (rule 1a)
    lead("D", "SQL", last_modified_at=at(2)),
    # started Sales Qualified (first old_status), changed the same day: its start segment is
    # empty (no day ends in it) and must still count (rule 1a)
    lead("E", "Nurture", last_modified_at=at(0, 18)),
    # no history, a padded qualified status, a blank lead source: created day, 'Unknown'
    lead("F", " sql ", lead_source="  "),
    # qualified by a change dated before its creation: never before the created day
    lead("G", "Qualified", last_modified_at=at(0)),
    # no history, a blank status: not an SQL, status label 'Unknown'
    lead("H", ""),
    # a lagging current status that is not qualified: not an SQL
    lead("I", "Nurture", last_modified_at=at(3)),
    # a qualifying change (day 2) comes before its conversion (day 6): rule 1b first
    lead("J", "Qualified", is_converted=True, converted_date=C + dt.timedelta(days=6)),
]
HISTORY = [
    ("A1", "A", at(1), "Open", "Working"),
    ("A2", "A", at(2), "Qualified", "SQL"),
    ("A3", "A", at(3), "Working", " qualified "),
    ("A4", "A", at(3, 15), "Qualified", "SQL"),
    ("B1", "B", at(1), "Open", "Working"),
    ("D1", "D", at(2), None, "SQL"),
    ("E1", "E", at(0, 18), "Sales Qualified", "Nurture"),
    ("G1", "G", at(-3), "Open", "Qualified"),
    ("I1", "I", at(1), "Open", "Working"),
    ("J1", "J", at(2), "Open", "Qualified"),
]
EXPECTED = {
    "A": ("Web", C, C + dt.timedelta(days=3)),
    "B": ("Web", C, C + dt.timedelta(days=4)),
    "C": ("Web", C, C + dt.timedelta(days=5)),
    "D": ("Web", C, C),
    "E": ("Web", C, C),
    "F": ("Unknown", C, C),
    "G": ("Web", C, C),
    "H": ("Web", C, None),
    "I": ("Web", C, None),
    "J": ("Web", C, C + dt.timedelta(days=2)),
    "K": ("Web", C, None),
}
# the segments the snapshot counts, for the leads whose empty or lagging segments matter
EXPECTED_SEGMENTS = {
    "B": [
        ("Open", C, C + dt.timedelta(days=1)),
        ("Working", C + dt.timedelta(days=1), C + dt.timedelta(days=4)),
        ("SQL", C + dt.timedelta(days=4), None),
    ],
    "E": [("Nurture", C, None)],  # the empty Sales Qualified start is not a segment
    "H": [("Unknown", C, None)],
}


def lead_state(env: dict[str, str]) -> dict[str, tuple[Any, ...]]:
    with owner_connection(env) as owner:
        rows = owner.execute(
            "SELECT lead_id, lead_source, created_date, qualified_date FROM metrics.lead_state"
        ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def segments(env: dict[str, str], lead_id: str) -> list[tuple[Any, ...]]:
    with owner_connection(env) as owner:
        return owner.execute(
            "SELECT status, from_date, to_date FROM metrics.lead_segment_state"
            " WHERE lead_id = %s ORDER BY from_date",
            (lead_id,),
        ).fetchall()


@pytest.fixture(scope="module")
def built(pg_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """An empty CRM whose lead state is built, so the leads below arrive as changes."""
    etl_conn = role_connection(pg_env, "revops_etl", config.source_db_name(pg_env))
    owner = owner_connection(pg_env)
    reset_crm(etl_conn)
    reset_metrics(owner)
    owner.execute("SELECT metrics.sync_lead_state(true)")
    try:
        yield pg_env
    finally:
        reset_crm(etl_conn)
        reset_metrics(owner)
        etl_conn.close()
        owner.close()


def test_qualification_days_after_the_ordinary_run_and_a_rebuild(built: dict[str, str]) -> None:
    with role_connection(built, "revops_etl", config.source_db_name(built)) as etl:
        insert_rows(etl, "leads", LEADS)
        columns = ("history_id", "lead_id", "changed_at", "old_status", "new_status")
        insert_rows(
            etl, "lead_status_history", [dict(zip(columns, h, strict=True)) for h in HISTORY]
        )
    with role_connection(built, "revops_runner", config.metrics_db_name(built)) as runner:
        row = runner.execute("SELECT metrics.run_due('manual')").fetchone()
    assert row is not None and row[0]["status"] == "succeeded", row
    # the steps path: the leads re-derived from the change log, not a rebuild
    assert row[0]["lead_state"]["leads"] == len(LEADS), row[0]["lead_state"]
    assert not row[0]["lead_state"]["rebuilt"]
    assert lead_state(built) == EXPECTED
    for lead_id, expected in EXPECTED_SEGMENTS.items():
        assert segments(built, lead_id) == expected, lead_id

    with owner_connection(built) as owner:
        result = owner.execute("SELECT metrics.sync_lead_state(true)").fetchone()
    assert result is not None and result[0]["rebuilt"] is True
    assert result[0]["leads"] == len(LEADS)
    assert lead_state(built) == EXPECTED
    for lead_id, expected in EXPECTED_SEGMENTS.items():
        assert segments(built, lead_id) == expected, lead_id
