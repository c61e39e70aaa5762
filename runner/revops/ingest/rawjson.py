"""The ``raw`` column: the original record as JSON text that PostgreSQL ``jsonb`` accepts.

Records are parsed with exact decimals (``1200.50`` stays ``1200.50``), so ``raw`` holds the
record unchanged at the jsonb level. Some JSON is valid yet cannot be stored by PostgreSQL:
``\\u0000`` in a string or key, lone UTF-16 surrogates, numbers beyond ``numeric``, absurd
nesting. :func:`to_json` raises :class:`Unstorable` for those, so the record is quarantined
instead of failing a whole COPY.

The common case (no decimals, nothing odd) goes through the C encoder of :mod:`json`; the
exact walk below runs only when that cannot decide.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

from revops.ingest.values import check_number

MAX_DEPTH = 500


class Unstorable(ValueError):
    """The value is valid JSON but PostgreSQL cannot store it."""


class _HasDecimal(TypeError):
    pass


def _no_decimal(value: object) -> Any:
    raise _HasDecimal


_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_no_decimal
)


def to_json(value: object) -> str:
    """Compact JSON text of a parsed JSON value; raises :class:`Unstorable` (see module doc)."""
    try:
        text = _ENCODER.encode(value)
    except _HasDecimal:
        text = ""
    except (ValueError, RecursionError) as exc:
        raise Unstorable(f"not storable as jsonb: {type(exc).__name__}") from None
    if text and "\\u0000" not in text and (text.isascii() or _encodable(text)):
        return text  # the C encoder's recursion limit (~1000 levels) is within jsonb's
    parts: list[str] = []
    try:
        _walk(value, parts, 0)
    except RecursionError:
        raise Unstorable(f"nested deeper than {MAX_DEPTH} levels") from None
    return "".join(parts)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _string(text: str) -> str:
    if "\x00" in text:
        raise Unstorable("NUL character (\\u0000) in a string")
    if not _encodable(text):
        raise Unstorable("lone UTF-16 surrogate in a string")
    return str(encode_basestring(text))


def _walk(value: object, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise Unstorable(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        out.append(_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        try:
            out.append(str(check_number(value)))
        except ValueError as exc:
            raise Unstorable(str(exc)) from None
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise Unstorable("not a finite number")
        out.append(repr(value))
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(_string(str(key)))
            out.append(":")
            _walk(item, out, depth + 1)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _walk(item, out, depth + 1)
        out.append("]")
    else:
        raise Unstorable(f"not a JSON value: {type(value).__name__}")


QUARANTINE_DEPTH = 32


def quarantine_text(value: object) -> str:
    """Best-effort text of anything for ``load_errors.raw_text`` (never raises).

    A value too deep for :func:`json.dumps` is shown down to ``QUARANTINE_DEPTH`` levels, with
    ``"..."`` where deeper arrays and objects were."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except RecursionError:
        value = _shallow(value, QUARANTINE_DEPTH)
        text = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        return clean_text(repr(value)[:100_000])
    if not _encodable(text):
        text = json.dumps(value, ensure_ascii=True, default=str)
    return text


def _shallow(value: object, depth: int) -> object:
    """``value`` with what nests deeper than ``depth`` levels replaced by ``"..."``."""
    if isinstance(value, dict):
        if depth <= 0:
            return "{...}"
        return {str(k): _shallow(v, depth - 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if depth <= 0:
            return "[...]"
        return [_shallow(v, depth - 1) for v in value]
    return value


def clean_text(text: str) -> str:
    """A text PostgreSQL accepts: NULs written as ``\\x00``, lone surrogates replaced."""
    text = text.replace("\x00", "\\x00")
    if not _encodable(text):
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text
