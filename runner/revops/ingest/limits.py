"""What ingest accepts at most: nesting depth, key lengths, plausible dates.

Hostile or broken exports must cost a rejected record, never a crash, a hang or gigabytes of
memory. The limits, and the environment variables that change them:

| limit | variable | default | what happens beyond it |
|---|---|---|---|
| nesting of one record | ``REVOPS_INGEST_MAX_DEPTH`` | 64 | the record is quarantined ("value nested too deep") |
| nesting of a whole document | (fixed) | 256 | what nests deeper is cut out before parsing (see :mod:`revops.ingest.guard`); the record holding it is quarantined as too deep |
| length of an Id / an indexed text value | (fixed) | 255 characters | the record is quarantined |
| years of dates and timestamps | ``REVOPS_INGEST_MIN_YEAR``, ``REVOPS_INGEST_MAX_YEAR`` | 1970, 2100 | the record is quarantined ("implausible date") |

Why the document limit: ijson keeps one prefix string per open level, each as long as the path
to it, so its memory grows with the square of the depth (a 39 KB file of ``[`` took 1 GB). At
256 levels that is about 3 MB (1024 levels cost 50 MB). The document limit only has to exceed
the record limit plus the envelope's few levels (a REST page holds records at level 3, an sf
CLI envelope at 4): anything cut out sits deeper than any record may go, so what held it is
quarantined like any record nested too deep, and the rest of its file still loads.

Why 255: Salesforce Ids are 15 or 18 characters and picklist values at most 255; PostgreSQL
refuses a btree index entry over ~2700 bytes, and 255 characters are at most 1020 bytes of
UTF-8, so no accepted key or indexed value can fail a whole file's upsert.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from revops.config import ConfigError

DOCUMENT_MAX_DEPTH = 256
MAX_RECORD_DEPTH = 200  # the highest REVOPS_INGEST_MAX_DEPTH: room for envelopes below 256
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Limits:
    max_depth: int = 64
    min_year: int = 1970
    max_year: int = 2100

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Limits:
        """The limits the environment sets (see the module doc); ConfigError when invalid."""
        env = os.environ if env is None else env
        default = cls()
        limits = cls(
            max_depth=_integer(env, "REVOPS_INGEST_MAX_DEPTH", default.max_depth),
            min_year=_integer(env, "REVOPS_INGEST_MIN_YEAR", default.min_year),
            max_year=_integer(env, "REVOPS_INGEST_MAX_YEAR", default.max_year),
        )
        if not 1 <= limits.max_depth <= MAX_RECORD_DEPTH:
            raise ConfigError(f"REVOPS_INGEST_MAX_DEPTH must be between 1 and {MAX_RECORD_DEPTH}")
        if not 1 <= limits.min_year <= limits.max_year <= 9999:
            raise ConfigError(
                "REVOPS_INGEST_MIN_YEAR and REVOPS_INGEST_MAX_YEAR must be years 1-9999,"
                " the minimum not after the maximum"
            )
        return limits


DEFAULT = Limits()


def _integer(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {text!r}") from None


def depth_exceeds(value: object, limit: int) -> bool:
    """True when ``value`` nests more than ``limit`` levels (a scalar is 0, ``{}`` is 1).

    Iterative, so any depth is safe to ask about."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children: object = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        if depth > limit:
            return True
        for child in children:  # type: ignore[attr-defined]
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False
