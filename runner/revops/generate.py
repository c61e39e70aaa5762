"""Deterministic synthetic CRM data, loaded straight into ``crm.*`` with COPY.

Data model (scale 1; every count scales linearly, with small floors at tiny scales): 50 reps
(Users: a VP, a few managers, the rest reporting to them; ~10% inactive but still owning old
activities; one deleted duplicate that owns nothing), 20k accounts, 200k leads with their status
changes over time (LeadHistory, ~1.3 per lead), ~0.4 campaign touchpoints per lead (interactions),
50k opportunities (the first ones are the opportunities that converted leads became, the rest
are direct) and 1M activities (75% Tasks, 25% Events). Everything happens in the 730 local
(America/New_York) days ending ``end_date``, in business hours mostly, fewer on weekends; leads
and activities are numbered in creation order, as Salesforce Ids are.

Realistic messiness, in fixed proportions, all of it present from scale 0.01:

- lead sources: several labels, NULL, ``''``, ``'  '``, and stray whitespace (``' Web '``);
- leads owned by queues (owner Id ``00G...``); activities with a NULL owner or an owner Id that
  is not in ``crm.reps``; inactive reps that own activities;
- lead statuses in several spellings (``'qualified '``) and NULL; status histories whose last
  ``new_status`` is the lead's current status, some going back from qualified to working; leads
  created already qualified (no history);
- converted leads pointing at a generated opportunity, ~40% of which have a NULL lead source (so
  the converted lead's source applies);
- opportunities with NULL amounts, won without a close date, ``is_won`` NULL with stage
  ``'Closed Won'``/``'Closed/Won'`` (and NULL with a lost or open stage), amounts with cents;
- timestamps clustered around local midnight in America/New_York (23:30-00:30) and extra records
  on the DST change days (23- and 25-hour days, night hours included);
- Tasks with and without ``activity_date``; Events with ``activity_at``, all-day Events with only
  ``activity_date``, invitee copies (``is_child``); task subtypes Call/Email/List Email/Task,
  types in mixed case, ``call_type`` on some calls (and on a few tasks of subtype Task);
- soft-deleted rows (``is_deleted``, ~1.6%) in every table (history rows of deleted leads).

Determinism: every table draws from its own ``random.Random`` seeded with ``"{seed}:{table}"``
(string seeds are hashed with SHA-512, so they do not depend on PYTHONHASHSEED), rare features
are chosen by row number modulo small primes, and Ids are Salesforce-style 18-character Ids
(key prefix, a 2-character "instance" derived from the seed, a base-62 sequence number and the
case-safe checksum suffix). Same scale, seed and end date give identical rows; the wall clock is
only read for the default end date (yesterday, UTC).

Loading (``load_synthetic``): one transaction that empties every crm table, records one
``crm.ingest_batches`` row and streams each table through binary ``COPY ... FREEZE``. Leads drive
three tables (leads, status history, interactions) and only one COPY can run on a connection at
a time, so the lead plan is replayed per table instead of buffered in memory. Scale 1 (1.65M
rows) takes about 50 s on two cores, half of it PostgreSQL (indexes, the batch_id foreign key).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import itertools
import json
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb, set_json_dumps

Row = tuple[Any, ...]
T = TypeVar("T")

DAYS = 730
LOCAL_TZ = ZoneInfo("America/New_York")
UTC = dt.UTC

COLUMNS: dict[str, tuple[str, ...]] = {
    "reps": ("rep_id", "name", "email", "is_active", "manager_id", "created_at",
             "last_modified_at", "system_modstamp", "is_deleted", "raw", "batch_id"),
    "accounts": ("account_id", "name", "industry", "type", "owner_id", "created_at",
                 "last_modified_at", "system_modstamp", "is_deleted", "raw", "batch_id"),
    "leads": ("lead_id", "owner_id", "first_name", "last_name", "company", "email", "status",
              "lead_source", "created_at", "is_converted", "converted_date",
              "converted_opportunity_id", "converted_account_id", "converted_contact_id",
              "last_modified_at", "system_modstamp", "is_deleted", "raw", "batch_id"),
    "lead_status_history": ("history_id", "lead_id", "changed_at", "old_status", "new_status",
                            "history_source", "system_modstamp", "is_deleted", "raw",
                            "batch_id"),
    "interactions": ("interaction_id", "lead_id", "contact_id", "campaign_id",
                     "interaction_type", "status", "occurred_at", "created_at",
                     "last_modified_at", "system_modstamp", "is_deleted", "raw", "batch_id"),
    "opportunities": ("opportunity_id", "account_id", "owner_id", "name", "stage_name",
                      "amount", "close_date", "is_closed", "is_won", "lead_source",
                      "created_at", "last_modified_at", "system_modstamp", "is_deleted", "raw",
                      "batch_id"),
    "activities": ("activity_id", "source_object", "owner_id", "who_id", "what_id", "subject",
                   "type", "task_subtype", "call_type", "status", "activity_date",
                   "activity_at", "is_child", "created_at", "last_modified_at",
                   "system_modstamp", "is_deleted", "raw", "batch_id"),
}  # fmt: skip
TABLES = tuple(COLUMNS)  # load order
CRM_TABLES = (*TABLES, "load_errors", "ingest_batches")
OBJECT_TYPES = ["User", "Account", "Lead", "LeadHistory", "CampaignMember", "Opportunity",
                "Task", "Event"]  # fmt: skip

OPEN, WORKING, QUALIFIED, UNQUALIFIED, CONVERTED = (
    "Open - Not Contacted", "Working - Contacted", "Qualified", "Unqualified",
    "Closed - Converted",
)  # fmt: skip
QUALIFIED_ODD = "qualified "
# Status paths after creation (the lead starts Open); Q is replaced by a Qualified spelling.
PATHS: Sequence[tuple[str, ...]] = (
    [()] * 15 + [(WORKING,)] * 20 + [(WORKING, UNQUALIFIED)] * 24 + [(UNQUALIFIED,)] * 6
    + [(WORKING, "Q")] * 13 + [(WORKING, "Q", WORKING)] * 4
    + [(WORKING, "Q", CONVERTED)] * 13 + [("Q", CONVERTED)] * 3 + [(CONVERTED,)] * 2
)  # fmt: skip
SOURCES: Sequence[str | None] = (
    ["Web"] * 26 + ["Phone Inquiry"] * 10 + ["Partner Referral"] * 10 + ["Trade Show"] * 8
    + ["Purchased List"] * 8 + ["Employee Referral"] * 4 + ["Other"] * 5
    + [" Web ", "Web ", "Trade Show "] + [None] * 6 + [""] * 2 + ["  "]
)  # fmt: skip
OPEN_STAGES = ["Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote",
               "Negotiation/Review"]  # fmt: skip
INDUSTRIES = ["Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Education",
              "Media", None]  # fmt: skip
ACCOUNT_TYPES = ["Prospect", "Customer - Direct", "Customer - Channel", "Partner", None]
FIRST = ["Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal",
         "Kira", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq"]  # fmt: skip
LAST = ["Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito",
        "Johnson", "Kumar", "Lopez", "Moreau", "Nguyen", "Okafor", "Patel", "Rossi", "Smith"]  # fmt: skip
WORDS = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent",
         "Tyrell", "Wonka", "Cyberdyne"]  # fmt: skip
SUFFIXES = ["Inc", "LLC", "Ltd", "Group", "Corp", "GmbH"]
CAMPAIGN_TYPES = ["Webinar", "Email Campaign", "Trade Show", "Content Download"]
MEMBER_STATUSES = ["Sent", "Responded", "Registered", "Attended"]
TASK_SUBTYPES = ["Call"] * 40 + ["Email"] * 28 + ["List Email"] * 8 + ["Task"] * 24
TASK_TYPES: dict[str, Sequence[str | None]] = {
    "Call": ["Call", "Call", "call", None],
    "Email": ["Email", "Email", "email", None],
    "List Email": ["Email", None],
    "Task": [None, None, "Other", "To Do", "Meeting"],
}
EVENT_TYPES: Sequence[str | None] = ("Meeting",) * 6 + ("meeting", "Demo", "Other", None)
REGIONS = ["East", "West", "Central", "EMEA"]
CALL_TYPES = ["Outbound", "Outbound", "Inbound", "Internal"]
TASK_STATUSES = ["Completed"] * 8 + ["Not Started", "In Progress"]

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CASE_BITS = str.maketrans({c: "1" if c.isupper() else "0" for c in _B62})
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def case_safe_id(id15: str) -> str:
    """Salesforce's 18-character form: three checksum characters encode the upper-case bits."""
    bits = id15.translate(_CASE_BITS)
    return (
        id15
        + _SUFFIX[int(bits[4::-1], 2)]
        + _SUFFIX[int(bits[9:4:-1], 2)]
        + _SUFFIX[int(bits[14:9:-1], 2)]
    )


_PAIRS = [a + b for a in _B62 for b in _B62]
_UP1 = [int(c.isupper()) for c in _B62]
_UP2 = [_UP1[k // 62] | _UP1[k % 62] << 1 for k in range(62 * 62)]


@functools.cache
def _id_head(prefix: str, instance: str) -> tuple[str, str]:
    head = prefix + instance + "0"
    return head, _SUFFIX[sum(1 << j for j, c in enumerate(head[:5]) if c.isupper())]


def sf_id(prefix: str, instance: str, number: int) -> str:
    """An 18-character Id: key prefix, 2-char instance, reserved '0', 9 base-62 digits.

    Same result as ``case_safe_id`` on the 15-character form, computed with pair tables
    because a million of these are made per run.
    """
    head, check0 = _id_head(prefix, instance)
    q, r4 = divmod(number, 3844)
    q, r3 = divmod(q, 3844)
    q, r2 = divmod(q, 3844)
    q, r1 = divmod(q, 3844)
    d0, u2 = q % 62, _UP2[r2]
    return (
        head + _B62[d0] + _PAIRS[r1] + _PAIRS[r2] + _PAIRS[r3] + _PAIRS[r4] + check0
        + _SUFFIX[_UP1[d0] << 1 | _UP2[r1] << 2 | (u2 & 1) << 4]
        + _SUFFIX[u2 >> 1 | _UP2[r3] << 1 | _UP2[r4] << 3]
    )  # fmt: skip


def instance_for(seed: int) -> str:
    """Two base-62 characters derived from the seed, so different seeds give different Ids."""
    h = int.from_bytes(hashlib.sha256(str(seed).encode()).digest()[:4], "big")
    return _B62[h % 62] + _B62[(h // 62) % 62]


def sf_datetime(ts: dt.datetime) -> str:
    return ts.isoformat(timespec="milliseconds")[:-6] + "+0000"


# One reusable encoder for the raw column: json.dumps(**kwargs) builds a new one per call.
_JSON = json.JSONEncoder(separators=(",", ":"))


def _pick(rng: random.Random, seq: Sequence[T]) -> T:
    """rng.choice without its bounds checks (this runs a few million times per load)."""
    return seq[int(rng.random() * len(seq))]


class Counts(NamedTuple):
    reps: int
    accounts: int
    leads: int
    opportunities: int
    activities: int


def target_counts(scale: float) -> Counts:
    """Row counts of the base objects at a scale (history and interactions follow the leads)."""
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    return Counts(
        reps=max(5, round(50 * scale)),
        accounts=max(5, round(20_000 * scale)),
        leads=max(20, round(200_000 * scale)),
        opportunities=max(10, round(50_000 * scale)),
        activities=max(50, round(1_000_000 * scale)),
    )


class Calendar:
    """The 730 local (America/New_York) days ending end_date, as UTC instants of midnight."""

    def __init__(self, end_date: dt.date) -> None:
        self.start_date = end_date - dt.timedelta(days=DAYS - 1)
        self.dates = [self.start_date + dt.timedelta(days=k) for k in range(DAYS + 1)]
        self.midnights = [
            dt.datetime.combine(d, dt.time(), LOCAL_TZ).astimezone(UTC) for d in self.dates
        ]
        self.lengths_ms = [
            int((b - a).total_seconds()) * 1000 for a, b in itertools.pairwise(self.midnights)
        ]
        self.dst_days = [k for k, n in enumerate(self.lengths_ms) if n != 86_400_000]
        self.weekend = [d.weekday() >= 5 for d in self.dates]
        self.start, self.end = self.midnights[0], self.midnights[DAYS]

    def day_of(self, ts: dt.datetime) -> int:
        """Index of the local day holding ts."""
        return bisect.bisect_right(self.midnights, ts) - 1

    def at(self, day: int, ms: int) -> dt.datetime:
        return self.midnights[day] + dt.timedelta(milliseconds=ms)

    def instant(self, rng: random.Random, day: int) -> dt.datetime:
        """A time on a local day: business hours mostly, 4% within 30 minutes of a midnight,
        and on DST days half of them anywhere in the 23/25 hours (night included)."""
        u = rng.random()
        if u < 0.04:
            off = int(rng.random() * 1_800_000)
            ms = off if rng.random() < 0.5 else self.lengths_ms[day] - 1 - off
        elif u < 0.5 and self.lengths_ms[day] != 86_400_000:
            ms = int(rng.random() * self.lengths_ms[day])
        else:
            ms = int((7.5 + 11 * rng.random()) * 3_600_000)
        return self.midnights[day] + dt.timedelta(milliseconds=ms)

    def sample(self, rng: random.Random) -> tuple[int, dt.datetime]:
        """A random (local day, UTC instant), weighted like ``spread``."""
        if rng.random() < 0.01 and self.dst_days:
            day = self.dst_days[int(rng.random() * len(self.dst_days))]
        else:
            day = int(rng.random() * DAYS)
            if self.weekend[day] and rng.random() < 0.7:
                day = int(rng.random() * DAYS)
        return day, self.instant(rng, day)

    def spread(self, rng: random.Random, n: int) -> Iterator[tuple[int, dt.datetime]]:
        """n (local day, UTC instant) pairs in day order, like records numbered by creation.

        Day weights: weekdays 1, weekends 0.3, DST days 3 (so the odd days are well covered).
        Counts per day come from rounding the cumulative share, so they add up to n exactly.
        Day order also keeps index inserts local, which makes COPY cheaper for the server.
        """
        weights = [
            3.0 if k in self.dst_days else 0.3 if self.weekend[k] else 1.0 for k in range(DAYS)
        ]
        total, cumulative, done = sum(weights), 0.0, 0
        for day, weight in enumerate(weights):
            cumulative += weight
            upto = n if day == DAYS - 1 else round(n * cumulative / total)
            for _ in range(upto - done):
                yield day, self.instant(rng, day)
            done = upto


class LeadPlan(NamedTuple):
    number: int
    lead_id: str
    owner_id: str | None
    created_day: int
    created_at: dt.datetime
    status: str | None
    lead_source: str | None
    changes: list[tuple[dt.datetime, str, str]]  # (changed_at, old, new)
    conversion: int | None  # index of the opportunity it converted into
    converted_day: int | None
    account_id: str | None
    is_deleted: bool
    touches: list[tuple[int, dt.datetime]]  # (campaign, occurred_at)


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


def default_end_date() -> dt.date:
    """Yesterday in UTC: the only place the generator reads the clock for data."""
    return dt.datetime.now(UTC).date() - dt.timedelta(days=1)


def _copy_rows(conn: psycopg.Connection[Any], table: str, rows: Iterator[Row]) -> int:
    """COPY rows into crm.<table> in binary format (about a third less CPU than text).

    Binary COPY needs the exact column types, so they are read from the catalog rather than
    restated here; raw dicts go through the jsonb dumper with the shared compact encoder.
    """
    columns = COLUMNS[table]
    types = dict(
        conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (f"crm.{table}",),
        ).fetchall()
    )
    # FREEZE: the table was truncated in this transaction, so rows go in already frozen and
    # the first reads and autovacuum do not rewrite every page (TRUNCATE's lock hides them).
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY, FREEZE)").format(
        sql.Identifier("crm", table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    n = 0
    with conn.cursor() as cur:
        set_json_dumps(_JSON.encode, cur)
        with cur.copy(copy_sql) as copy:
            copy.set_types([types[c] for c in columns])
            for row in rows:
                copy.write_row(row)
                n += 1
    return n


def truncate_crm(conn: psycopg.Connection[Any]) -> None:
    """Empty every crm table, quarantine and batches included.

    No RESTART IDENTITY: the identity sequences belong to the bootstrap admin and revops_etl
    may only use them ("must be owner of sequence"), so batch_id and history_seq keep counting.
    """
    conn.execute(
        sql.SQL("TRUNCATE {} CASCADE").format(
            sql.SQL(", ").join(sql.Identifier("crm", t) for t in CRM_TABLES)
        )
    )


def load_synthetic(
    conn: psycopg.Connection[Any],
    *,
    scale: float,
    seed: int,
    end_date: dt.date | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, int]:
    """Replace all crm data with a synthetic data set, in one transaction; return row counts."""
    end = end_date or default_end_date()
    gen = SyntheticCrm(scale=scale, seed=seed, end_date=end)
    counts: dict[str, int] = {}
    started = time.monotonic()
    with conn.transaction():
        truncate_crm(conn)
        row = conn.execute(
            "INSERT INTO crm.ingest_batches (source_name, source_shape, object_types, details)"
            " VALUES (%s, 'generator', %s, %s) RETURNING batch_id",
            (
                f"generator scale={scale:g} seed={seed}",
                OBJECT_TYPES,
                Jsonb({"scale": scale, "seed": seed, "end_date": end.isoformat()}),
            ),
        ).fetchone()
        if row is None:
            raise RuntimeError("INSERT INTO crm.ingest_batches returned no batch_id")
        batch_id = int(row[0])
        for table in TABLES:
            counts[table] = _copy_rows(conn, table, gen.rows(table, batch_id))
            progress(f"generate: {table}: {counts[table]} rows ({time.monotonic() - started:.1f}s)")
        total = sum(counts.values())
        conn.execute(
            "UPDATE crm.ingest_batches SET records_in = %s, records_loaded = %s,"
            " batch_status = 'succeeded', finished_at = clock_timestamp(),"
            " details = details || %s WHERE batch_id = %s",
            (total, total, Jsonb({"counts": counts}), batch_id),
        )
    return counts
