"""Salesforce Id normalisation and the keys derived for sf tree exports (which carry no Ids).

A Salesforce Id is 15 case-sensitive characters, or 18 with a 3-character suffix that encodes
the case of the first 15 so the Id survives case-insensitive tools. Every Id-valued column is
stored in the 18-character form so both spellings of one record merge.

Rules (explicit, because hand-made exports hold anything):
- a *string* of exactly 15 ASCII letters/digits gets its checksum suffix;
- any other string is kept as given after trimming (18-character Ids, hand-made keys);
- a JSON integer is a hand-made id and is kept as its decimal text, never suffixed;
- ``""``, whitespace, null, booleans, non-integral numbers, objects and arrays are not Ids.

Tree exports (``sf data export tree``) replace Ids by ``attributes.referenceId`` and lookups by
``@referenceId``. A referenceId of the form ``ref<Id>`` (what some export scripts write) gives
the Id back. Any other referenceId becomes a derived key ``tree:<scope>:<referenceId>``, where
``scope`` is a short digest of the export's directory: stable when the same export is loaded
again (from the same place), distinct across exports that reuse ``AccountRef1``. The object
type is deliberately *not* part of the key: a ``@Ref`` lookup does not say which type it points
to (``WhatId`` is polymorphic), and sf CLI referenceIds are unique within one export anyway, so
a lookup resolves to the same key as the record it names, even when the files are loaded one
at a time.
"""

from __future__ import annotations

import hashlib
import re
import string
from decimal import Decimal

_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
# each character of an Id as "1" (upper case) or "0": the bits of the suffix characters
_CASE_BITS = str.maketrans(
    dict.fromkeys(string.ascii_uppercase, "1")
    | dict.fromkeys(string.ascii_lowercase + string.digits, "0")
)
_REF_ID = re.compile(r"ref([A-Za-z0-9]{15}|[A-Za-z0-9]{18})")


def to_18(value: str) -> str:
    """The 18-character form of a 15-character Salesforce Id; other strings unchanged."""
    if len(value) != 15 or not (value.isascii() and value.isalnum()):  # [A-Za-z0-9]{15}
        return value
    bits = value.translate(_CASE_BITS)  # the first character of each five is the lowest bit
    return (
        value
        + _SUFFIX_CHARS[int(bits[4::-1], 2)]
        + _SUFFIX_CHARS[int(bits[9:4:-1], 2)]
        + _SUFFIX_CHARS[int(bits[14:9:-1], 2)]
    )


def normalise_id(value: object) -> str | None:
    """An Id-valued field as stored, or None when the value cannot be an Id (see module doc)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value() and abs(value) < 10**30:
            return str(int(value))
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    return to_18(text)


def scope_digest(scope: str) -> str:
    """A short stable digest naming one tree export (its directory, or stdin's content)."""
    return hashlib.sha256(scope.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def id_from_reference(reference_id: str, scope: str) -> str:
    """The key of a tree record: the Id inside ``ref<Id>``, else the derived key."""
    ref = reference_id.strip()
    match = _REF_ID.fullmatch(ref)
    if match:
        return to_18(match.group(1))
    return f"tree:{scope_digest(scope)}:{ref}"


def resolve_ref(value: str, scope: str) -> str | None:
    """``@referenceId`` (a lookup inside a tree export) as the key of the record it names."""
    ref = value[1:].strip()
    if not ref:
        return None
    return id_from_reference(ref, scope)
