"""Nesting depth of a JSON byte stream, measured before ijson parses it.

ijson's memory grows with the square of the nesting depth (see :mod:`revops.ingest.limits`),
so the depth has to be known from the bytes, chunk by chunk, before the parser sees them.
:class:`DepthGuard` tracks it exactly with a few C-speed passes per chunk and no Python loop
per byte:

1. escaped backslashes and escaped quotes are dropped (a backslash ending the chunk escapes
   the next chunk's first byte);
2. the chunk is reduced to its quotes and brackets (``bytes.translate``), and adjacent quote
   pairs are dropped: they are strings holding no bracket, and dropping two quotes keeps the
   parity that says whether a bracket is inside a string;
3. what remains is split on the few quotes left: every other part is outside strings, and
   its brackets (typically a few hundred per 64 KB chunk) give the running depth.

When a container opens deeper than the limit, the chunk is scanned again byte by byte and the
whole container is replaced by the JSON string :data:`PLACEHOLDER` (so the parser never nests
deeper than the limit, and what holds it, a record usually, is quarantined as too deep while
the rest of the file loads); chunks entirely inside such a container are dropped unscanned.

Invalid JSON (a stray ``]``) only makes the count smaller; the parser rejects such input anyway.
"""

from __future__ import annotations

from itertools import accumulate

PLACEHOLDER = b'"(removed by ingest: nested too deep)"'
_NOT_SYNTAX = bytes(b for b in range(256) if b not in b'"[]{}')
_PASSES = 3
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_STEP = [0] * 256
for _open in _OPEN:
    _STEP[_open] = 1
for _close in _CLOSE:
    _STEP[_close] = -1


class DepthGuard:
    """Feed every byte of a JSON stream in order; :meth:`feed` returns the bytes to parse."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.depth = 0
        self.deepest = 0  # the deepest level seen so far
        self.removed = 0  # containers replaced by PLACEHOLDER
        self._in_string = False
        self._escape = False  # the previous chunk ended with an escaping backslash
        self._removing = False  # inside a container deeper than the limit

    def feed(self, data: bytes) -> bytes:
        state = (self.depth, self._in_string, self._escape)
        levels = self._levels(data)
        if not levels:
            return b"" if self._removing else data
        deepest = max(levels)
        if self._removing:
            if min(levels) > self.limit:  # still inside the removed container
                self.depth = levels[-1]
                return b""
        elif deepest <= self.limit:
            self.deepest = max(self.deepest, deepest)
            self.depth = max(levels[-1], 0)
            return data
        self.depth, self._in_string, self._escape = state
        return self._rewrite(data)

    def _levels(self, data: bytes) -> list[int]:
        """The running depth after each bracket outside strings (empty: none); updates the
        string state."""
        if self._escape:
            data = data[1:]  # the escaped byte, whatever it is
            self._escape = False
        if b"\\" in data:
            data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
            if data.endswith(b"\\"):
                self._escape = True
        syntax = data.translate(None, _NOT_SYNTAX)
        if b'"' in syntax:
            parts = syntax.replace(b'""', b"").split(b'"')
            brackets = b"".join(parts[1 if self._in_string else 0 :: 2])
            self._in_string ^= len(parts) % 2 == 0
        elif self._in_string:
            return []
        else:
            brackets = syntax
        if not brackets:
            return []
        opens = brackets.count(b"[") + brackets.count(b"{")
        end = self.depth + 2 * opens - len(brackets)
        if not self._removing:
            # Cheap bound first: each pass drops the innermost pairs, one level; the deepest
            # point is at most the start depth + the passes + the deepest point of what is left.
            # Records a few levels deep leave almost nothing after _PASSES passes.
            bound = self.depth + opens
            if bound > min(self.deepest, self.limit):
                rest = brackets
                for _ in range(_PASSES):
                    rest = rest.replace(b"{}", b"").replace(b"[]", b"")
                bound = self.depth + _PASSES + rest.count(b"[") + rest.count(b"{")
            if bound <= min(self.deepest, self.limit):
                return [end]  # no deeper than already seen (nor than the limit)
        return list(accumulate(map(_STEP.__getitem__, brackets), initial=self.depth))[1:]

    def _rewrite(self, data: bytes) -> bytes:
        """Byte by byte: replace containers deeper than the limit by PLACEHOLDER."""
        out = bytearray()
        depth, limit, removing = self.depth, self.limit, self._removing
        in_string, escape = self._in_string, self._escape
        kept_from, deepest = 0, self.deepest
        for index, byte in enumerate(data):
            if in_string:
                if escape:
                    escape = False
                elif byte == 0x5C:  # backslash
                    escape = True
                elif byte == 0x22:  # quote
                    in_string = False
            elif byte == 0x22:
                in_string = True
            elif byte in _OPEN:
                depth += 1
                deepest = max(deepest, depth)
                if depth > limit and not removing:
                    out += data[kept_from:index]
                    out += PLACEHOLDER
                    removing = True
                    self.removed += 1
            elif byte in _CLOSE:
                depth -= 1
                if removing and depth == limit:
                    removing = False
                    kept_from = index + 1
        if not removing:
            out += data[kept_from:]
        self.depth, self._removing = max(depth, 0), removing
        self._in_string, self._escape = in_string, escape
        self.deepest = deepest
        return bytes(out)
