"""One business day of CRM changes on top of what ``crm`` holds now (``revops generate
--next-day``), written as export files that ``revops ingest`` loads.

What a day holds at scale 1 (every count follows the scale, with small floors at tiny scales;
:func:`day_counts`): ~275 new leads, ~400 status changes of existing leads (the Lead record
with its new status and a newer LastModifiedDate/SystemModstamp, plus its LeadHistory record),
~70 new opportunities (some of them the conversions of leads reaching ``Closed - Converted``),
~70 open opportunities closed won or lost, ~1,370 tasks and events, and ~10 late corrections,
one of each kind in :data:`CORRECTIONS` at least: a deal marked Closed Won with a close date
weeks back, a won deal reassigned to another rep, a lead imported with a CreatedDate ~200 days
ago, a status change and a call logged weeks late, a deal deleted, an amount corrected.

The day is a local (America/New_York) day, like the base generator's; by default the day
after the newest record in the data (:func:`revops.synthetic.crm_state.default_day`). A changed record is the stored row
rewritten whole (an export carries every field; ingest stores absent fields as NULL) with a
``SystemModstamp`` newer than the stored one, since ingest keeps the newest version of an Id.
New records get Salesforce-style Ids numbered from a block of the day (``ids.sf_id``), so days
never collide with each other or with the base data.

Determinism: the same (seed, day, data) give the same files. The data is read sorted by Id
and every part of the day draws from its own ``random.Random("{seed}:next-day:{day}:{part}")``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple, TypeVar

from revops.synthetic.calendar import DAYS, LOCAL_TZ, Calendar, sf_datetime
from revops.synthetic.crm_state import CrmState, Deal, Lead
from revops.synthetic.envelopes import Context, ExportError, Sink
from revops.synthetic.export import FORMATS, PAGE_SIZE, ExportResult, finish, prepare
from revops.synthetic.ids import instance_for, sf_id
from revops.synthetic.records import OBJECT_TYPES, Record, to_record
from revops.synthetic.vocabulary import (
    CALL_TYPES,
    CONVERTED,
    EVENT_TYPES,
    FIRST,
    LAST,
    OPEN,
    OPEN_STAGES,
    QUALIFIED,
    REGIONS,
    SOURCES,
    SUFFIXES,
    TASK_STATUSES,
    TASK_SUBTYPES,
    TASK_TYPES,
    UNQUALIFIED,
    WORDS,
    WORKING,
)

T = TypeVar("T")
CORRECTIONS = (
    "won_weeks_back",
    "won_deal_reassigned",
    "lead_created_200_days_ago",
    "status_logged_late",
    "call_logged_late",
    "deal_deleted",
    "amount_corrected",
)
_QUALIFIED = frozenset({"qualified", "sql", "sales qualified"})
_TODAY = DAYS - 1  # the day's index in its Calendar (the base generator's 730 days end on it)
_ID_BLOCK = 10_000_000  # Ids of a day: day.toordinal() * _ID_BLOCK + n (62^9 leaves room)


class DayCounts(NamedTuple):
    new_leads: int
    status_changes: int
    new_opportunities: int
    closed_opportunities: int
    activities: int
    corrections: int


def day_counts(scale: float) -> DayCounts:
    """How many changes of each kind one business day holds at a scale."""
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    return DayCounts(
        new_leads=max(5, round(275 * scale)),
        status_changes=max(5, round(400 * scale)),
        new_opportunities=max(2, round(70 * scale)),
        closed_opportunities=max(2, round(70 * scale)),
        activities=max(20, round(1_370 * scale)),
        corrections=max(len(CORRECTIONS), round(10 * scale)),
    )


# -- the day -----------------------------------------------------------------------------------
@dataclass
class NextDay:
    day: dt.date
    instance: str
    records: dict[str, list[Record]]  # object type -> records (OBJECT_TYPES order)
    changes: dict[str, int]  # changes of each kind (DayCounts fields, then each correction)
    owner_names: dict[str, str] = field(default_factory=dict)


def _pick(rng: random.Random, seq: Sequence[T]) -> T:
    return seq[int(rng.random() * len(seq))]


def _recent_first(rng: random.Random, n: int, k: int) -> list[int]:
    """k distinct indexes of n, drawn towards the end (the newest records change most)."""
    if k >= n:
        return list(range(n))
    chosen: dict[int, None] = {}
    for _ in range(k * 20):
        chosen.setdefault(min(n - 1, int(n * (1 - (1 - rng.random()) ** 3))), None)
        if len(chosen) == k:
            return list(chosen)
    rest = (i for i in range(n - 1, -1, -1) if i not in chosen)
    return [*chosen, *(next(rest) for _ in range(k - len(chosen)))]


def _after(stored: dt.datetime | None, planned: dt.datetime) -> dt.datetime:
    """``planned``, or a second after the stored version when that is not older (ingest keeps
    the newest ``SystemModstamp``; the export spells milliseconds, so truncate first)."""
    if stored is None or planned > stored:
        return planned
    return stored.replace(microsecond=stored.microsecond // 1000 * 1000) + dt.timedelta(seconds=1)


def _is_open(deal: Deal) -> bool:
    stage = (deal.stage_name or "").strip().lower()
    return not deal.is_deleted and not deal.is_closed and not stage.startswith("closed")


def _is_won(deal: Deal) -> bool:
    return bool(deal.is_won) and not deal.is_deleted and deal.close_date is not None


def _next_status(rng: random.Random, status: str | None, *, may_convert: bool) -> str:
    """A lead's next status: Open -> Working -> Qualified -> Closed - Converted, or back."""
    now = (status or "").strip().lower()
    u = rng.random()
    if now in ("", OPEN.lower()):
        return WORKING if u < 0.75 else UNQUALIFIED
    if now == WORKING.lower():
        if u < 0.15 and may_convert:
            return CONVERTED
        return QUALIFIED if u < 0.6 else UNQUALIFIED
    if now in _QUALIFIED:
        return CONVERTED if u < 0.7 and may_convert else WORKING
    return WORKING  # Unqualified leads come back, unknown labels move on


class _Day:
    """Builds one NextDay; each method adds one kind of change."""

    def __init__(self, state: CrmState, day: dt.date, scale: float, seed: int) -> None:
        self.state, self.day, self.seed = state, day, seed
        self.n = day_counts(scale)
        self.cal = Calendar(day)
        self.midnight = self.cal.midnights[_TODAY]
        self.instance = instance_for(seed)
        self.numbers: dict[str, int] = {}
        self.used: set[str] = set()
        self.records: dict[str, list[Record]] = {o: [] for o in OBJECT_TYPES}
        self.changes: dict[str, int] = dict.fromkeys([*DayCounts._fields, *CORRECTIONS], 0)
        live = [r for r in state.reps if not r.is_deleted]
        self.owners = [r.rep_id for r in live if r.is_active] or [r.rep_id for r in live]
        if not self.owners:
            raise ExportError("crm holds no reps to own the day's work: load data first")
        self.queues = sorted({x.owner_id or "" for x in state.leads} - {""})
        self.queues = [q for q in self.queues if q.startswith("00G")]
        self.new_lead_ids: list[str] = []
        self.conversions: list[tuple[dt.datetime, Lead]] = []

    def rng(self, part: str) -> random.Random:
        # Reproducible test data, not secrets: a seeded Mersenne Twister is the point.
        return random.Random(f"{self.seed}:next-day:{self.day.isoformat()}:{part}")  # noqa: S311

    def new_id(self, prefix: str) -> str:
        number = self.numbers.get(prefix, 0) + 1
        self.numbers[prefix] = number
        return sf_id(prefix, self.instance, self.day.toordinal() * _ID_BLOCK + number)

    def instants(self, rng: random.Random, k: int) -> list[dt.datetime]:
        return sorted(self.cal.instant(rng, _TODAY) for _ in range(k))

    def weeks_back(self, rng: random.Random, low: int, high: int) -> tuple[dt.date, dt.datetime]:
        """A day low..high days before this one, and an instant on it."""
        index = _TODAY - low - int(rng.random() * (high - low + 1))
        return self.cal.dates[index], self.cal.instant(rng, index)

    def rewrite(self, table: str, object_type: str, ids: Sequence[str]) -> dict[str, Record]:
        """The stored rows of ``ids`` as records, to change and write whole."""
        rows = self.state.full_rows(table, ids)
        return {str(r[0]): to_record(object_type, table, r) for r in rows}

    def add(self, object_type: str, record: Record) -> None:
        self.records[object_type].append(record)

    @staticmethod
    def stamp(record: Record, modified: dt.datetime, system: dt.datetime | None = None) -> None:
        record["LastModifiedDate"] = modified
        record["SystemModstamp"] = system or modified

    # -- leads ---------------------------------------------------------------------------------
    def new_leads(self) -> None:
        rng = self.rng("leads")
        for k, created in enumerate(self.instants(rng, self.n.new_leads)):
            lead_id = self.new_id("00Q")
            self.new_lead_ids.append(lead_id)
            status = QUALIFIED if rng.random() < 0.05 else OPEN
            self.add("Lead", self.lead_record(rng, lead_id, k, created, created, status))
        self.changes["new_leads"] = self.n.new_leads

    def lead_record(
        self,
        rng: random.Random,
        lead_id: str,
        k: int,
        created: dt.datetime,
        modified: dt.datetime,
        status: str,
    ) -> Record:
        owner = _pick(rng, self.queues) if self.queues and rng.random() < 0.08 else None
        first, last = FIRST[k % len(FIRST)], LAST[(k * 5 + self.day.day) % len(LAST)]
        company = f"{_pick(rng, WORDS)} {k % 997} {_pick(rng, SUFFIXES)}"
        return {"Id": lead_id, "OwnerId": owner or _pick(rng, self.owners), "FirstName": first,
                "LastName": last, "Company": company,
                "Email": f"{first}.{last}.{self.day:%Y%m%d}.{k}@example.org".lower(),
                "Status": status, "LeadSource": _pick(rng, SOURCES), "IsConverted": False,
                "ConvertedDate": None, "ConvertedOpportunityId": None,
                "ConvertedAccountId": None, "ConvertedContactId": None, "CreatedDate": created,
                "LastModifiedDate": modified, "SystemModstamp": modified, "IsDeleted": False,
                "Region__c": _pick(rng, REGIONS), "Lead_Score__c": int(rng.random() * 100)}  # fmt: skip

    def status_changes(self) -> None:
        rng = self.rng("status")
        candidates = [
            x
            for x in self.state.leads
            if not x.is_deleted
            and not x.is_converted
            and (x.status or "").strip().lower() != CONVERTED.lower()
            and x.created_at is not None
            and x.created_at < self.midnight
        ]
        candidates.sort(key=lambda x: (x.created_at or self.midnight, x.lead_id))
        chosen = [candidates[i] for i in _recent_first(rng, len(candidates), self.n.status_changes)]
        chosen.sort(key=lambda x: x.lead_id)
        stored = self.rewrite("leads", "Lead", [x.lead_id for x in chosen])
        conversions = self.n.new_opportunities // 2
        for lead, at in zip(chosen, self.instants(rng, len(chosen)), strict=True):
            record = stored.get(lead.lead_id)
            if record is None:
                continue
            new = _next_status(rng, lead.status, may_convert=len(self.conversions) < conversions)
            stamp = _after(lead.system_modstamp, at)
            record["Status"] = new
            self.stamp(record, stamp)
            if new == CONVERTED:
                self.conversions.append((stamp, lead))
                record["IsConverted"] = True
                record["ConvertedDate"] = self.day
            self.add("Lead", record)
            self.history(lead, lead.status, new, stamp, stamp)
            self.used.add(lead.lead_id)
        self.changes["status_changes"] = len(self.records["LeadHistory"])

    def history(
        self,
        lead: Lead,
        old: str | None,
        new: str,
        changed: dt.datetime,
        stamp: dt.datetime,
    ) -> None:
        self.add("LeadHistory", {"Id": self.new_id("017"), "LeadId": lead.lead_id,
                                 "OldValue": old, "NewValue": new, "CreatedDate": changed,
                                 "SystemModstamp": stamp, "IsDeleted": False,
                                 "Field": "Status"})  # fmt: skip

    # -- opportunities -------------------------------------------------------------------------
    def new_opportunities(self) -> None:
        rng = self.rng("opportunities")
        converted = {r["Id"]: r for r in self.records["Lead"] if r.get("IsConverted")}
        starts: list[tuple[dt.datetime, Lead | None]] = list(self.conversions)
        direct = self.n.new_opportunities - len(starts)
        starts += [(at, None) for at in self.instants(rng, direct)]
        starts.sort(key=lambda s: s[0])
        for k, (created, lead) in enumerate(starts):
            opportunity_id = self.new_id("006")
            owner, source = _pick(rng, self.owners), _pick(rng, SOURCES)
            account = _pick(rng, self.state.account_ids) if self.state.account_ids else None
            if lead is not None:
                record = converted[lead.lead_id]
                if lead.owner_id and lead.owner_id[:3] != "00G":
                    owner = lead.owner_id
                source = None if rng.random() < 0.4 else record.get("LeadSource")
                record["ConvertedOpportunityId"] = opportunity_id
                record["ConvertedAccountId"] = account
                record["ConvertedContactId"] = self.new_id("003")
            close = self.day + dt.timedelta(days=1 + int(rng.expovariate(1 / 45)))
            amount = Decimal(50_000 + int(rng.random() * 24_950_000)).scaleb(-2)
            self.add("Opportunity", {"Id": opportunity_id, "AccountId": account,
                                     "OwnerId": owner,
                                     "Name": f"{_pick(rng, WORDS)} deal {self.day:%Y%m%d}-{k + 1}",
                                     "StageName": _pick(rng, OPEN_STAGES[:3]), "Amount": amount,
                                     "CloseDate": close, "IsClosed": False, "IsWon": False,
                                     "LeadSource": source, "CreatedDate": created,
                                     "LastModifiedDate": created, "SystemModstamp": created,
                                     "IsDeleted": False})  # fmt: skip
        self.changes["new_opportunities"] = len(starts)

    def closed_opportunities(self) -> None:
        """Open deals closed won (~35%) or lost today, nearest to their close date first."""
        rng = self.rng("closes")
        far = dt.date.max.toordinal()
        open_deals = [d for d in self.state.deals if _is_open(d) and d.opportunity_id not in self.used
                      and d.created_at is not None and d.created_at < self.midnight]  # fmt: skip
        open_deals.sort(
            key=lambda d: (
                abs(d.close_date.toordinal() - self.day.toordinal()) if d.close_date else far,
                d.opportunity_id,
            )
        )
        pool = open_deals[: 3 * self.n.closed_opportunities]
        chosen = sorted(rng.sample(pool, min(len(pool), self.n.closed_opportunities)))
        stored = self.rewrite("opportunities", "Opportunity", [d.opportunity_id for d in chosen])
        for deal, at in zip(chosen, self.instants(rng, len(chosen)), strict=True):
            record = stored.get(deal.opportunity_id)
            if record is None:
                continue
            won = rng.random() < 0.35
            record.update(StageName="Closed Won" if won else "Closed Lost", IsClosed=True,
                          IsWon=won, CloseDate=self.day)  # fmt: skip
            self.stamp(record, _after(deal.system_modstamp, at))
            self.add("Opportunity", record)
            self.used.add(deal.opportunity_id)
            self.changes["closed_opportunities"] += 1

    # -- activities ----------------------------------------------------------------------------
    def activities(self) -> None:
        rng = self.rng("activities")
        recent = [x.lead_id for x in self.state.leads[-max(50, len(self.state.leads) // 20) :]]
        deals = [d.opportunity_id for d in self.state.deals if _is_open(d)]
        for at in self.instants(rng, self.n.activities):
            who = None
            u = rng.random()
            if u < 0.2 and self.new_lead_ids:
                who = _pick(rng, self.new_lead_ids)
            elif u < 0.55 and recent:
                who = _pick(rng, recent)
            u = rng.random()
            what = (_pick(rng, deals) if u < 0.3 and deals else
                    _pick(rng, self.state.account_ids)
                    if u < 0.45 and self.state.account_ids else None)  # fmt: skip
            if rng.random() < 0.25:
                self.add("Event", self.event(rng, at, who, what))
            else:
                self.add("Task", self.task(rng, at, who, what))
        self.changes["activities"] = self.n.activities

    def task(
        self,
        rng: random.Random,
        at: dt.datetime,
        who: str | None,
        what: str | None,
        activity_date: dt.date | None = None,
    ) -> Record:
        subtype = _pick(rng, TASK_SUBTYPES)
        kind = _pick(rng, TASK_TYPES[subtype])
        call_type = _pick(rng, CALL_TYPES) if subtype == "Call" and rng.random() < 0.6 else None
        status = _pick(rng, TASK_STATUSES)
        if activity_date is None and rng.random() >= 0.08:
            ahead = int(rng.random() * 4) if status != "Completed" else 0
            activity_date = self.day + dt.timedelta(days=ahead)
        return {"Id": self.new_id("00T"), "OwnerId": _pick(rng, self.owners), "WhoId": who,
                "WhatId": what, "Subject": f"{subtype}: {kind or 'follow up'}", "Type": kind,
                "TaskSubtype": subtype, "CallType": call_type, "Status": status,
                "ActivityDate": activity_date, "CreatedDate": at, "LastModifiedDate": at,
                "SystemModstamp": at, "IsDeleted": False,
                "Region__c": _pick(rng, REGIONS)}  # fmt: skip

    def event(
        self, rng: random.Random, at: dt.datetime, who: str | None, what: str | None
    ) -> Record:
        kind = _pick(rng, EVENT_TYPES)
        created = max(self.midnight, at - dt.timedelta(minutes=int(rng.random() * 240)))
        record: Record = {"Id": self.new_id("00U"), "OwnerId": _pick(rng, self.owners),
                          "WhoId": who, "WhatId": what,
                          "Subject": "Meeting" if kind is None else f"{kind.title()} with customer",
                          "Type": kind, "ActivityDate": self.day, "ActivityDateTime": at,
                          "IsChild": False, "CreatedDate": created, "LastModifiedDate": created,
                          "SystemModstamp": created, "IsDeleted": False,
                          "Region__c": _pick(rng, REGIONS)}  # fmt: skip
        if rng.random() < 0.02:  # all-day: Salesforce keeps the date only
            record["ActivityDateTime"] = None
            record["IsAllDayEvent"] = True
        return record

    # -- late corrections ----------------------------------------------------------------------
    def corrections(self) -> None:
        rng = self.rng("corrections")
        weeks = self.day - dt.timedelta(days=14)
        old_open = [d for d in self.state.deals if _is_open(d)
                    and d.created_at is not None
                    and d.created_at < self.midnight - dt.timedelta(days=60)]  # fmt: skip
        old_won = [d for d in self.state.deals if _is_won(d) and d.close_date is not None
                   and d.close_date <= weeks]  # fmt: skip
        late_cut = self.midnight - dt.timedelta(days=43)
        quiet_leads = [x for x in self.state.leads if not x.is_deleted and not x.is_converted
                       and x.last_modified_at is not None and x.last_modified_at < late_cut
                       and x.created_at is not None and x.created_at < late_cut
                       and (x.status or "").strip().lower() != CONVERTED.lower()]  # fmt: skip
        for k in range(self.n.corrections):
            kind = CORRECTIONS[k % len(CORRECTIONS)]
            at = self.cal.instant(rng, _TODAY)
            if kind in ("lead_created_200_days_ago", "call_logged_late"):
                self.late_record(rng, kind, at)
            elif kind == "status_logged_late":
                lead = self.unused(rng, quiet_leads, lambda x: x.lead_id)
                if lead is not None:
                    self.late_status(rng, lead, at)
            else:
                deal = self.unused(rng, old_open if kind == "won_weeks_back" else old_won,
                                   lambda d: d.opportunity_id)  # fmt: skip
                if deal is not None:
                    self.correct_deal(rng, kind, deal, at)

    def unused(self, rng: random.Random, pool: Sequence[T], key: Callable[[T], str]) -> T | None:
        free = [x for x in pool if key(x) not in self.used]
        if not free:
            return None
        choice = _pick(rng, free)
        self.used.add(key(choice))
        return choice

    def late_record(self, rng: random.Random, kind: str, at: dt.datetime) -> None:
        if kind == "lead_created_200_days_ago":  # an import from another system
            _day, created = self.weeks_back(rng, 195, 205)
            lead_id = self.new_id("00Q")
            record = self.lead_record(rng, lead_id, 900 + len(self.new_lead_ids), created, at,
                                      WORKING)  # fmt: skip
            self.add("Lead", record)
        else:  # a call made weeks ago, logged today
            when, _at = self.weeks_back(rng, 14, 35)
            record = self.task(rng, at, None, None, activity_date=when)
            record.update(TaskSubtype="Call", Type="Call", Status="Completed",
                          Subject="Call: logged late")  # fmt: skip
            self.add("Task", record)
        self.count(kind)

    def late_status(self, rng: random.Random, lead: Lead, at: dt.datetime) -> None:
        """A status change made weeks ago, synced today: LastModifiedDate and the history row
        say when it happened, SystemModstamp says when the record last changed."""
        record = self.rewrite("leads", "Lead", [lead.lead_id]).get(lead.lead_id)
        if record is None:
            return
        _day, changed = self.weeks_back(rng, 14, 42)
        new = _next_status(rng, lead.status, may_convert=False)
        record["Status"] = new
        self.stamp(record, changed, _after(lead.system_modstamp, at))
        self.add("Lead", record)
        self.history(lead, lead.status, new, changed, _after(lead.system_modstamp, at))
        self.count("status_logged_late")

    def correct_deal(self, rng: random.Random, kind: str, deal: Deal, at: dt.datetime) -> None:
        record = self.rewrite("opportunities", "Opportunity", [deal.opportunity_id]).get(
            deal.opportunity_id
        )
        if record is None:
            return
        if kind == "won_weeks_back":
            closed, _at = self.weeks_back(rng, 21, 56)
            created = deal.created_at.astimezone(LOCAL_TZ).date() if deal.created_at else closed
            record.update(StageName="Closed Won", IsClosed=True, IsWon=True,
                          CloseDate=max(closed, created))  # fmt: skip
        elif kind == "won_deal_reassigned":
            others = [o for o in self.owners if o != deal.owner_id] or self.owners
            record["OwnerId"] = _pick(rng, others)
        elif kind == "deal_deleted":
            record["IsDeleted"] = True
        else:  # amount_corrected: a typo found at quarter close
            factor = _pick(rng, (Decimal("0.8"), Decimal("0.9"), Decimal("1.1"), Decimal("1.25")))
            amount = deal.amount if deal.amount is not None else Decimal(10_000)
            record["Amount"] = (amount * factor).quantize(Decimal("0.01"))
        self.stamp(record, _after(deal.system_modstamp, at))
        self.add("Opportunity", record)
        self.count(kind)

    def count(self, kind: str) -> None:
        self.changes[kind] += 1
        self.changes["corrections"] += 1


def plan_next_day(state: CrmState, *, day: dt.date, scale: float, seed: int) -> NextDay:
    """The changes of one business day (see the module doc), as records per object type."""
    build = _Day(state, day, scale, seed)
    build.new_leads()
    build.status_changes()
    build.new_opportunities()
    build.closed_opportunities()
    build.activities()
    build.corrections()
    names = {r.rep_id: r.name or "" for r in state.reps}
    return NextDay(day, build.instance, build.records, build.changes, names)


def write_next_day(
    out: Path, plan: NextDay, *, fmt: str, scale: float, seed: int, page_size: int = PAGE_SIZE
) -> ExportResult:
    """Write a planned day into ``out`` as ``fmt`` files (an export directory ingest loads)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    prepare(out)
    extracted = dt.datetime.combine(plan.day + dt.timedelta(days=1), dt.time(6), dt.UTC)
    exported = frozenset(
        r["Id"] for records in plan.records.values() for r in records if fmt == "tree"
    )
    context = Context(plan.instance, page_size, plan.owner_names, exported,
                      sf_datetime(extracted),
                      int(extracted.timestamp() * 1000))  # fmt: skip
    sinks = {o: Sink(out, o, fmt, context) for o in OBJECT_TYPES}
    for object_type, records in plan.records.items():
        for record in records:
            sinks[object_type].write(record)
        sinks[object_type].close()
    details = {"next_day": plan.day.isoformat(), "scale": scale, "seed": seed,
               "changes": plan.changes}  # fmt: skip
    return finish(out, fmt, sinks, details)
