"""How many records of each object a scale gives, and the plan of one lead (its status
changes, conversion and touchpoints) that three tables are written from."""

from __future__ import annotations

import datetime as dt
import math
from typing import NamedTuple


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
