"""What a day of changes is built on (:mod:`revops.synthetic.next_day`): the parts of ``crm``
its choices need, read as revops_etl and sorted by Id, and the whole stored rows of the records
it rewrites, fetched on demand. Tests build the same state from generated rows, no server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import psycopg
from psycopg import sql

from revops.synthetic.calendar import LOCAL_TZ, default_end_date
from revops.synthetic.schema import COLUMNS, Row


class Rep(NamedTuple):
    rep_id: str
    name: str | None
    is_active: bool | None
    is_deleted: bool | None


class Lead(NamedTuple):
    lead_id: str
    owner_id: str | None
    status: str | None
    created_at: dt.datetime | None
    last_modified_at: dt.datetime | None
    system_modstamp: dt.datetime | None
    is_converted: bool | None
    is_deleted: bool | None


class Deal(NamedTuple):
    opportunity_id: str
    owner_id: str | None
    stage_name: str | None
    amount: Decimal | None
    close_date: dt.date | None
    is_closed: bool | None
    is_won: bool | None
    created_at: dt.datetime | None
    system_modstamp: dt.datetime | None
    is_deleted: bool | None


FullRows = Callable[[str, Sequence[str]], list[Row]]


@dataclass
class CrmState:
    """The parts of ``crm`` a day of changes is chosen from (sorted by Id), the newest instant
    of any record, and ``full_rows(table, ids)``: the whole stored rows (``COLUMNS[table]``
    order) of the records the day rewrites."""

    reps: list[Rep]
    account_ids: list[str]
    leads: list[Lead]
    deals: list[Deal]
    newest: dt.datetime | None
    full_rows: FullRows

    def __post_init__(self) -> None:
        self.reps.sort(key=lambda r: r.rep_id)
        self.account_ids.sort()
        self.leads = sorted((Lead(*_utc(lead)) for lead in self.leads), key=lambda x: x.lead_id)
        self.deals = sorted(
            (Deal(*_utc(deal)) for deal in self.deals), key=lambda x: x.opportunity_id
        )


def _utc(values: Iterable[Any]) -> tuple[Any, ...]:
    """Datetimes in UTC (the export spelling writes +0000 whatever the session zone was)."""
    return tuple(v.astimezone(dt.UTC) if isinstance(v, dt.datetime) else v for v in values)


_READS = {
    "reps": Rep._fields,
    "leads": Lead._fields,
    "opportunities": Deal._fields,
}


def read_state(conn: psycopg.Connection[Any]) -> CrmState:
    """Read ``crm`` (as revops_etl): the columns the choices need, the rest on demand."""

    def select(table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
        query = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.Identifier("crm", table)
        )
        return list(conn.execute(query).fetchall())

    def full_rows(table: str, ids: Sequence[str]) -> list[Row]:
        columns = COLUMNS[table]
        query = sql.SQL("SELECT {} FROM {} WHERE {} = ANY(%s)").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.Identifier("crm", table),
            sql.Identifier(columns[0]),
        )
        return [_utc(r) for r in conn.execute(query, (list(ids),)).fetchall()]

    row = conn.execute(
        "SELECT greatest((SELECT max(created_at) FROM crm.leads),"
        " (SELECT max(created_at) FROM crm.opportunities),"
        " (SELECT max(created_at) FROM crm.activities),"
        " (SELECT max(changed_at) FROM crm.lead_status_history))"
    ).fetchone()
    newest = row[0] if row is not None and isinstance(row[0], dt.datetime) else None
    return CrmState(
        reps=[Rep(*r) for r in select("reps", _READS["reps"])],
        account_ids=[str(r[0]) for r in select("accounts", ("account_id",))],
        leads=[Lead(*r) for r in select("leads", _READS["leads"])],
        deals=[Deal(*r) for r in select("opportunities", _READS["opportunities"])],
        newest=newest,
        full_rows=full_rows,
    )


def data_scale(state: CrmState) -> float:
    """The scale the data looks like (its leads / the 200,000 of scale 1), at least 0.0001."""
    return max(0.0001, round(len(state.leads) / 200_000, 4))


def default_day(state: CrmState) -> dt.date:
    """The local day after the newest record; yesterday (UTC) when nothing is dated yet."""
    if state.newest is None:
        return default_end_date()
    return state.newest.astimezone(LOCAL_TZ).date() + dt.timedelta(days=1)
