"""Lenient, explicit parsing of field values as Salesforce tools write them.

Every parser takes any JSON value and returns the Python value to store, None for "no value"
(``""``, whitespace, null), or raises :class:`ValueError` with a short reason. The rules:

- **text**: strings as given (not trimmed: labels are trimmed by the metrics); numbers and
  booleans as their JSON text; objects and arrays as compact JSON.
- **boolean**: JSON booleans; the strings/numbers ``true/false``, ``t/f``, ``yes/no``, ``y/n``,
  ``1/0`` in any case. Anything else raises (the mapper stores NULL and flags it: the contract
  quarantines unparseable dates and numbers, not booleans).
- **number**: JSON numbers; strings holding a decimal number (``"1200.50"``, ``"-1E02"``,
  ``"1,200.50"`` with thousands separators, surrounding spaces). NaN, infinities and values
  PostgreSQL ``numeric`` cannot hold raise.
- **datetime**: ISO 8601 as Salesforce spells it: ``2024-03-10T07:30:00.000+0000``, ``...Z``,
  ``...+00:00``, ``...-05``, with or without seconds and fractions, ``T`` or a space; no offset
  means UTC. A bare date means midnight UTC. Anything else (epoch numbers too) raises.
- **date**: ``YYYY-MM-DD``; a datetime string takes the date *as written* (``2020-12-22T21:16:01Z``
  is 2020-12-22) and is reported as such by :func:`parse_date`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_BOOL_WORDS = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,12}))?)?"
    r"\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?)?"
)
# numeric's limits are 131072 digits before and 16383 after the point; stay well inside.
_MAX_EXPONENT = 1000


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def parse_bool(value: object) -> bool | None:
    if isinstance(value, str):
        known = _BOOL_WORDS.get(value)  # the common spellings as written, without the work below
        if known is not None:
            return known
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError("not a boolean")


def check_number(value: Decimal) -> Decimal:
    """Raise unless PostgreSQL ``numeric`` can store the value."""
    if not value.is_finite():
        raise ValueError("not a finite number")
    if value and not -_MAX_EXPONENT < value.adjusted() < _MAX_EXPONENT:
        raise ValueError("number out of range")
    if value.as_tuple().exponent < -_MAX_EXPONENT:  # type: ignore[operator]
        raise ValueError("number out of range")
    return value


def parse_number(value: object) -> Decimal | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")  # noqa: TRY004 - callers catch ValueError
    if isinstance(value, int):
        return check_number(Decimal(value))
    if isinstance(value, Decimal):
        return check_number(value)
    if isinstance(value, float):
        return check_number(Decimal(repr(value)))
    if isinstance(value, str):
        text = value.strip()
        if _GROUPED.fullmatch(text):
            text = text.replace(",", "")
        if _NUMBER.fullmatch(text):
            try:
                return check_number(Decimal(text))
            except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
                raise ValueError("not a number") from exc
    raise ValueError("not a number")


def _offset(text: str | None) -> dt.tzinfo:
    if text is None or text in ("Z", "z"):
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError("bad UTC offset")
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def _match(value: object) -> re.Match[str] | None:
    if is_blank(value):
        return None
    if not isinstance(value, str):
        raise ValueError("not a date/time string")  # noqa: TRY004 - callers catch ValueError
    match = _DATETIME.fullmatch(value.strip())
    if match is None:
        raise ValueError("not an ISO 8601 date/time")
    return match


def parse_datetime(value: object) -> dt.datetime | None:
    if isinstance(value, str):
        return _parse_datetime_text(value)
    return _parse_datetime(value)


@lru_cache(maxsize=4096)
def _parse_datetime_text(value: str) -> dt.datetime | None:
    return _parse_datetime(value)  # exports repeat timestamps a lot (CreatedDate = SystemModstamp)


def _parse_datetime(value: object) -> dt.datetime | None:
    match = _match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    return dt.datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        micro,
        tzinfo=_offset(offset),
    )


def parse_date(value: object) -> tuple[dt.date | None, bool]:
    """The date, and whether it was written as a datetime (the caller flags that)."""
    if isinstance(value, str):
        return _parse_date_text(value)
    return _parse_date(value)


@lru_cache(maxsize=4096)
def _parse_date_text(value: str) -> tuple[dt.date | None, bool]:
    return _parse_date(value)  # dates repeat even more than timestamps


def _parse_date(value: object) -> tuple[dt.date | None, bool]:
    match = _match(value)
    if match is None:
        return None, False
    year, month, day = (int(part) for part in match.groups()[:3])
    if match.group(4) is not None:
        parse_datetime(value)  # the time part must be valid too
        return dt.date(year, month, day), True
    return dt.date(year, month, day), False
