"""argparse ``type=`` helpers: values are checked in the parser, so a bad one is a usage error
(exit 2, a clear message) and never reaches the database or date arithmetic."""

from __future__ import annotations

import argparse
import datetime as dt
import math
from collections.abc import Callable

# Bounds for day counts: a century of days is more than any CRM holds, and keeps date
# arithmetic (date - N days) far from its limits.
MAX_DAYS = 36_500
MAX_RECENT_DAYS = 3_650  # lookback, gap horizon, freshness lag: ten years


def date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """A whole number in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}: {text}")
        return value

    parse.__name__ = f"int {low}..{high}"  # argparse names the type in some messages
    return parse


def bounded_float(low_exclusive: float, high: float) -> Callable[[str], float]:
    """A finite number in (low_exclusive, high]."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
        if not (math.isfinite(value) and low_exclusive < value <= high):
            raise argparse.ArgumentTypeError(
                f"must be more than {low_exclusive:g} and at most {high:g}: {text}"
            )
        return value

    parse.__name__ = f"number {low_exclusive:g}..{high:g}"
    return parse


days = bounded_int(1, MAX_DAYS)
recent_days = bounded_int(0, MAX_RECENT_DAYS)
scale = bounded_float(0, 100)
