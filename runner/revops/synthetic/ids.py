"""Salesforce-style 18-character Ids: key prefix, a 2-character instance from the seed, a
base-62 sequence number and the case-safe checksum suffix."""

from __future__ import annotations

import functools
import hashlib

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
