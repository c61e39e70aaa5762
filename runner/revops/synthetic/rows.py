"""Row writers for every crm table (:class:`SyntheticCrm`): deterministic, streaming, with the
real-world messiness the package docstring lists; rows follow ``schema.COLUMNS[table]``."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import TypeVar

from revops.synthetic.calendar import DAYS, Calendar, sf_datetime
from revops.synthetic.ids import (
    instance_for,
    sf_id,
)
from revops.synthetic.plans import LeadPlan, target_counts
from revops.synthetic.schema import Row
from revops.synthetic.vocabulary import (
    ACCOUNT_TYPES,
    CALL_TYPES,
    CAMPAIGN_TYPES,
    CONVERTED,
    EVENT_TYPES,
    FIRST,
    INDUSTRIES,
    LAST,
    MEMBER_STATUSES,
    OPEN,
    OPEN_STAGES,
    PATHS,
    QUALIFIED,
    QUALIFIED_ODD,
    REGIONS,
    SOURCES,
    SUFFIXES,
    TASK_STATUSES,
    TASK_SUBTYPES,
    TASK_TYPES,
    WORDS,
)

T = TypeVar("T")


def _pick(rng: random.Random, seq: Sequence[T]) -> T:
    """rng.choice without its bounds checks (this runs a few million times per load)."""
    return seq[int(rng.random() * len(seq))]


class SyntheticCrm:
    """Row generators for every crm table; rows follow COLUMNS[table]."""

    def __init__(self, *, scale: float, seed: int, end_date: dt.date) -> None:
        self.scale, self.seed, self.end_date = scale, seed, end_date
        self.n = target_counts(scale)
        self.cal = Calendar(end_date)
        inst = instance_for(seed)
        self.instance = inst
        self.rep_ids = [sf_id("005", inst, k + 1) for k in range(self.n.reps)]
        self.account_ids = [sf_id("001", inst, k + 1) for k in range(self.n.accounts)]
        self.lead_ids = [sf_id("00Q", inst, k + 1) for k in range(self.n.leads)]
        self.opportunity_ids = [sf_id("006", inst, k + 1) for k in range(self.n.opportunities)]
        self.queue_ids = [sf_id("00G", inst, k + 1) for k in range(3)]
        self.unknown_owner_ids = [sf_id("005", inst, 900_000 + k) for k in range(2)]
        self.campaign_ids = [sf_id("701", inst, k + 1) for k in range(20)]
        # Rep roles: index 0 is the VP, then managers; ~10% inactive (they left on some day);
        # the last rep is a deleted duplicate record that owns nothing.
        n = self.n.reps
        self.managers = max(1, n // 8)
        self.deleted_reps = {n - 1}
        n_inactive = max(1, round(n * 0.1))
        self.left_day = {n - 2 - k: DAYS // 3 + (k * 97) % (DAYS // 2) for k in range(n_inactive)}
        self.active_owners = [self.rep_ids[k] for k in range(1, n - 1) if k not in self.left_day]
        self.activity_owners = self.active_owners * 4 + [self.rep_ids[k] for k in self.left_day]
        self._conversions: list[LeadPlan] | None = None

    def _rng(self, table: str) -> random.Random:
        # Reproducible test data, not secrets: a seeded Mersenne Twister is the point.
        return random.Random(f"{self.seed}:{table}")  # noqa: S311

    def rows(self, table: str, batch_id: int | None = None) -> Iterator[Row]:
        method: Callable[[int | None], Iterator[Row]] = getattr(self, f"_{table}")
        return method(batch_id)

    # -- users and accounts -------------------------------------------------------------------

    def _reps(self, batch_id: int | None) -> Iterator[Row]:
        rng = self._rng("reps")
        for k, rep_id in enumerate(self.rep_ids):
            first, last = FIRST[k % len(FIRST)], LAST[(k * 7) % len(LAST)]
            name = f"{first} {last}" if k != 0 else f"{first} {last} (VP Sales)"
            email = f"{first}.{last}{k}@example.com".lower()
            manager = None if k == 0 else self.rep_ids[0 if k <= self.managers else
                                                      1 + k % self.managers]  # fmt: skip
            if k in self.deleted_reps:
                name, manager = f"{first} {last} (duplicate)", None
            created = self.cal.start - dt.timedelta(days=30 + int(rng.random() * 900))
            left = self.left_day.get(k)
            modified = self.cal.at(left, 61_200_000) if left is not None else created
            active = left is None and k not in self.deleted_reps
            deleted = k in self.deleted_reps
            raw = {"attributes": {"type": "User"}, "Id": rep_id, "Name": name, "Email": email,
                   "IsActive": active, "ManagerId": manager, "Title": "Account Executive"}  # fmt: skip
            yield (rep_id, name, email, active, manager, created, modified, modified, deleted,
                   raw, batch_id)  # fmt: skip

    def _accounts(self, batch_id: int | None) -> Iterator[Row]:
        rng = self._rng("accounts")
        for k, account_id in enumerate(self.account_ids):
            name = f"{WORDS[k % len(WORDS)]} {k} {_pick(rng, SUFFIXES)}"
            industry = _pick(rng, INDUSTRIES)
            kind = _pick(rng, ACCOUNT_TYPES)
            owner = _pick(rng, self.active_owners)
            _day, created = self.cal.sample(rng)
            deleted = k % 61 == 17
            raw = {"attributes": {"type": "Account"}, "Id": account_id, "Name": name,
                   "Industry": industry, "Type": kind, "OwnerId": owner,
                   "CreatedDate": sf_datetime(created), "IsDeleted": deleted}  # fmt: skip
            yield (account_id, name, industry, kind, owner, created, created, created, deleted,
                   raw, batch_id)  # fmt: skip

    # -- leads, their history and touchpoints -------------------------------------------------

    def _lead_plans(self) -> Iterator[LeadPlan]:
        """Replayable: the same rng stream every time, one plan per lead."""
        rng = self._rng("leads")
        cal, end = self.cal, self.cal.end
        next_opportunity = 0
        budget = self.n.opportunities * 3 // 4  # leave room for direct opportunities
        created_stream = cal.spread(rng, len(self.lead_ids))
        for i, (lead_id, (day, created)) in enumerate(
            zip(self.lead_ids, created_stream, strict=True)
        ):
            if rng.random() < 0.08:
                owner: str | None = self.queue_ids[int(rng.random() * 3)]
            else:
                owner = _pick(rng, self.active_owners)
            source = _pick(rng, SOURCES)
            qualified = QUALIFIED_ODD if rng.random() < 0.15 else QUALIFIED
            path = _pick(rng, PATHS)
            status: str | None = OPEN
            changes: list[tuple[dt.datetime, str, str]] = []
            if i % 53 == 3:  # no status at all
                status, path = None, ()
            elif i % 47 == 5:  # created already qualified: no history
                status, path = qualified, ()
            at = created
            for step in path:
                new = qualified if step == "Q" else step
                if new == CONVERTED and next_opportunity >= budget:
                    break
                at = at + dt.timedelta(milliseconds=int(rng.expovariate(1 / 2.6e8)) + 60_000)
                if rng.random() < 0.05:  # changed around the next local midnight
                    nxt = cal.day_of(at) + 1
                    if nxt < DAYS:
                        at = max(at, cal.at(nxt, int(rng.random() * 3_600_000) - 1_800_000))
                if at >= end:
                    break
                changes.append((at, status or OPEN, new))
                status = new
            conversion: int | None = None
            converted_day: int | None = None
            account: str | None = None
            if status == CONVERTED:
                conversion, next_opportunity = next_opportunity, next_opportunity + 1
                converted_day = cal.day_of(changes[-1][0])
                account = _pick(rng, self.account_ids)
            touches: list[tuple[int, dt.datetime]] = []
            for _ in range((0, 0, 0, 0, 0, 0, 0, 1, 1, 2)[int(rng.random() * 10)]):
                ms = int(rng.random() * 1_728_000_000) - 864_000_000  # within 10 days of creation
                occurred = created + dt.timedelta(milliseconds=ms)
                touches.append((int(rng.random() * len(self.campaign_ids)),
                                min(max(occurred, cal.start), end - dt.timedelta(seconds=1))))  # fmt: skip
            yield LeadPlan(i, lead_id, owner, day, created, status, source, changes, conversion,
                           converted_day, account, i % 61 == 17, touches)  # fmt: skip

    def _leads(self, batch_id: int | None) -> Iterator[Row]:
        conversions: list[LeadPlan] = []
        for p in self._lead_plans():
            i = p.number
            first, last = FIRST[i % len(FIRST)], LAST[(i // 3) % len(LAST)]
            company = f"{WORDS[(i // 7) % len(WORDS)]} {i % 997} {SUFFIXES[i % len(SUFFIXES)]}"
            email = f"{first}.{last}.{i}@example.org".lower()
            modified = p.changes[-1][0] if p.changes else p.created_at
            opportunity_id: str | None = None
            contact_id: str | None = None
            converted_date: dt.date | None = None
            if p.conversion is not None and p.converted_day is not None:
                conversions.append(p)
                opportunity_id = self.opportunity_ids[p.conversion]
                contact_id = sf_id("003", self.instance, p.conversion + 1)
                converted_date = self.cal.dates[p.converted_day]
            raw = {"attributes": {"type": "Lead"}, "Id": p.lead_id, "OwnerId": p.owner_id,
                   "Region__c": REGIONS[i & 3],
                   "FirstName": first, "LastName": last, "Company": company, "Email": email,
                   "Status": p.status, "LeadSource": p.lead_source,
                   "CreatedDate": sf_datetime(p.created_at),
                   "IsConverted": p.conversion is not None,
                   "ConvertedDate": converted_date and converted_date.isoformat(),
                   "ConvertedOpportunityId": opportunity_id, "IsDeleted": p.is_deleted,
                   "Lead_Score__c": (i * 37) % 100}  # fmt: skip
            yield (p.lead_id, p.owner_id, first, last, company, email, p.status, p.lead_source,
                   p.created_at, p.conversion is not None, converted_date, opportunity_id,
                   p.account_id, contact_id, modified, modified, p.is_deleted, raw,
                   batch_id)  # fmt: skip
        self._conversions = conversions

    def _lead_status_history(self, batch_id: int | None) -> Iterator[Row]:
        number = 0
        for p in self._lead_plans():
            for at, old, new in p.changes:
                number += 1
                history_id = sf_id("017", self.instance, number)
                raw = {"attributes": {"type": "LeadHistory"}, "Id": history_id,
                       "LeadId": p.lead_id, "Field": "Status", "OldValue": old,
                       "NewValue": new, "CreatedDate": sf_datetime(at)}  # fmt: skip
                yield (history_id, p.lead_id, at, old, new, "generator", at, p.is_deleted,
                       raw, batch_id)  # fmt: skip

    def _interactions(self, batch_id: int | None) -> Iterator[Row]:
        number = 0
        for p in self._lead_plans():
            for campaign, occurred in p.touches:
                number += 1
                interaction_id = sf_id("00v", self.instance, number)
                kind = CAMPAIGN_TYPES[campaign % len(CAMPAIGN_TYPES)]
                status = MEMBER_STATUSES[(number * 7 + campaign) % len(MEMBER_STATUSES)]
                contact = (
                    sf_id("003", self.instance, p.conversion + 1)
                    if p.conversion is not None and number % 2 == 0
                    else None
                )
                raw = {"attributes": {"type": "CampaignMember"}, "Id": interaction_id,
                       "LeadId": p.lead_id, "ContactId": contact,
                       "CampaignId": self.campaign_ids[campaign], "Status": status,
                       "CreatedDate": sf_datetime(occurred)}  # fmt: skip
                yield (interaction_id, p.lead_id, contact, self.campaign_ids[campaign], kind,
                       status, occurred, occurred, occurred, occurred, p.is_deleted, raw,
                       batch_id)  # fmt: skip

    # -- opportunities and activities ---------------------------------------------------------

    def conversions(self) -> list[LeadPlan]:
        """Converted leads, in opportunity order (computed by a lead pass if none ran yet)."""
        if self._conversions is None:
            for _ in self._leads(None):
                pass
        if self._conversions is None:
            raise RuntimeError("lead pass did not record conversions")
        return self._conversions

    def _opportunities(self, batch_id: int | None) -> Iterator[Row]:
        rng = self._rng("opportunities")
        cal = self.cal
        conversions = self.conversions()
        for j, opportunity_id in enumerate(self.opportunity_ids):
            if j < len(conversions):
                lead = conversions[j]
                created = lead.changes[-1][0]
                day = cal.day_of(created)
                owner = lead.owner_id
                if owner is None or owner.startswith("00G"):
                    owner = _pick(rng, self.active_owners)
                source = None if rng.random() < 0.4 else lead.lead_source
                account = lead.account_id
            else:
                day, created = cal.sample(rng)
                owner = _pick(rng, self.active_owners)
                source = _pick(rng, SOURCES)
                account = _pick(rng, self.account_ids)
            close_day = day + int(rng.expovariate(1 / 45))
            closed = close_day < DAYS and rng.random() < 0.85
            won = closed and rng.random() < 0.35
            stage = ("Closed Won" if won else "Closed Lost") if closed else (
                _pick(rng, OPEN_STAGES))  # fmt: skip
            is_closed: bool | None = closed
            is_won: bool | None = won
            close_date: dt.date | None = cal.start_date + dt.timedelta(days=close_day)
            amount: Decimal | None = Decimal(50_000 + int(rng.random() * 24_950_000)).scaleb(-2)
            close_day = min(close_day, DAYS - 1)
            special = j % 101
            if special in (0, 1):
                amount = None
            elif special == 2:  # won, but nobody filled in the close date
                stage, is_closed, is_won, close_date = "Closed Won", True, True, None
            elif special in (3, 4, 5):  # is_won not exported: the stage name decides
                stage = ("Closed Won", "Closed/Won", "Closed Lost")[special - 3]
                is_closed, is_won, close_date = None, None, cal.dates[close_day]
            elif special == 6:
                is_closed, is_won = None, None
            modified = cal.at(close_day, 64_800_000) if closed else created
            modified = max(modified, created)
            deleted = j % 61 == 17
            name = f"{WORDS[j % len(WORDS)]} deal {j + 1}"
            raw = {"attributes": {"type": "Opportunity"}, "Id": opportunity_id,
                   "AccountId": account, "OwnerId": owner, "Name": name, "StageName": stage,
                   "Amount": None if amount is None else float(amount),
                   "CloseDate": close_date and close_date.isoformat(), "IsClosed": is_closed,
                   "IsWon": is_won, "LeadSource": source, "CreatedDate": sf_datetime(created),
                   "IsDeleted": deleted}  # fmt: skip
            yield (opportunity_id, account, owner, name, stage, amount, close_date, is_closed,
                   is_won, source, created, modified, modified, deleted, raw, batch_id)  # fmt: skip

    def _activities(self, batch_id: int | None) -> Iterator[Row]:
        rng = self._rng("activities")
        cal = self.cal
        n_leads, n_opps, n_accounts = self.n.leads, self.n.opportunities, self.n.accounts
        n_activities = self.n.activities
        owners, n_owners = self.activity_owners, len(self.activity_owners)
        left = {self.rep_ids[k]: day for k, day in self.left_day.items()}
        last_event: Row | None = None
        for i, (day, at) in enumerate(cal.spread(rng, self.n.activities)):
            is_event = rng.random() < 0.25
            activity_id = sf_id("00U" if is_event else "00T", self.instance, i + 1)
            owner: str | None = owners[int(rng.random() * n_owners)]
            if owner in left and day > left[owner]:  # people who left own only older work
                owner = _pick(rng, self.active_owners)
            if i % 89 == 7:
                owner = None
            elif i % 89 == 8:
                owner = self.unknown_owner_ids[i % 2]
            u = rng.random()
            # leads are numbered in creation order: point at one that exists by then (roughly)
            known = n_leads * (i + 1) // n_activities + 1
            who = self.lead_ids[int(rng.random() * min(known, n_leads))] if u < 0.55 else None
            u = rng.random()
            what = (self.opportunity_ids[int(rng.random() * n_opps)] if u < 0.3 else
                    self.account_ids[int(rng.random() * n_accounts)] if u < 0.45 else None)  # fmt: skip
            deleted = i % 61 == 17
            subtype: str | None = None
            call_type: str | None = None
            status: str | None = None
            activity_date: dt.date | None = cal.dates[day]
            activity_at: dt.datetime | None = None
            is_child = False
            if is_event:
                kind = _pick(rng, EVENT_TYPES)
                subject = "Meeting" if kind is None else f"{kind.title()} with customer"
                activity_at = at
                created = max(cal.start, at - dt.timedelta(minutes=int(rng.random() * 20_160)))
                if i % 83 == 9:  # all-day event: a date only
                    activity_at = None
                if i % 37 == 4 and last_event is not None:  # invitee copy of the last event
                    is_child = True
                    _, _, parent_owner, who, what, subject, kind = last_event[:7]
                    activity_date, activity_at, _, created = last_event[10:14]
                    if owner == parent_owner:  # an invitee is someone else
                        owner = self.active_owners[(i // 37) % len(self.active_owners)]
                modified = max(created, activity_at or created)
            else:
                subtype = _pick(rng, TASK_SUBTYPES)
                choices = TASK_TYPES[subtype]
                kind = _pick(rng, choices)
                if subtype == "Call" and rng.random() < 0.6:
                    call_type = _pick(rng, CALL_TYPES)
                if i % 97 == 13:  # a dialler logged the call as a plain task
                    subtype, kind, call_type = "Task", None, "Outbound"
                status = _pick(rng, TASK_STATUSES)
                subject = f"{subtype}: {kind or 'follow up'}"
                created = modified = at
                if rng.random() < 0.08:
                    activity_date = None
                elif status != "Completed" and day + 3 < DAYS:
                    activity_date = cal.dates[day + int(rng.random() * 4)]
            source_object = "Event" if is_event else "Task"
            # A million of these: raw keeps the Id, the classifying fields and one custom field
            # (dates and references live in their columns), which halves the JSON work.
            if is_event:
                raw = {"attributes": {"type": "Event"}, "Id": activity_id, "OwnerId": owner,
                       "Subject": subject, "Type": kind, "IsChild": is_child,
                       "Region__c": REGIONS[i & 3]}  # fmt: skip
            else:
                raw = {"attributes": {"type": "Task"}, "Id": activity_id, "OwnerId": owner,
                       "Subject": subject, "Type": kind, "TaskSubtype": subtype,
                       "CallType": call_type, "Status": status,
                       "Region__c": REGIONS[i & 3]}  # fmt: skip
            row = (activity_id, source_object, owner, who, what, subject, kind, subtype,
                   call_type, status, activity_date, activity_at, is_child, created, modified,
                   modified, deleted, raw, batch_id)  # fmt: skip
            if is_event and not is_child:
                last_event = row
            yield row
