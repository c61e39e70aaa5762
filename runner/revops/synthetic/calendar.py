"""The 730 local (America/New_York) days the synthetic CRM spans, and its datetime spelling."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from collections.abc import Iterator
from zoneinfo import ZoneInfo

DAYS = 730
LOCAL_TZ = ZoneInfo("America/New_York")
UTC = dt.UTC


def sf_datetime(ts: dt.datetime) -> str:
    return ts.isoformat(timespec="milliseconds")[:-6] + "+0000"


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


def default_end_date() -> dt.date:
    """Yesterday in UTC: the only place the generator reads the clock for data."""
    return dt.datetime.now(UTC).date() - dt.timedelta(days=1)
