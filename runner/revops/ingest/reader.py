"""Streaming readers: bytes in, entries out, never the whole file in memory.

- The first bytes decide the reader (structure, never the name): ``[`` means a **JSON array**,
  streamed element by element with ijson; a first line that is a complete JSON value means
  **JSON Lines**, read line by line (a bad line is one bad entry, the rest still load); ``{``
  spanning lines means **JSON documents** (one, or several concatenated), walked with ijson
  events so ``records`` / ``result.records`` stream record by record; anything else is not JSON.
- UTF-16 and UTF-32 (with or without a BOM, recognised as :func:`json.detect_encoding`
  does) are transcoded to UTF-8 on the fly; a UTF-8 BOM is dropped.
- Every byte read is hashed (sha256), including what follows a parse error.
- Numbers are parsed as exact decimals; ``NaN``/``Infinity`` are not JSON.
- Nesting is bounded (see :mod:`revops.ingest.limits`): what ijson parses goes through a
  :class:`~revops.ingest.guard.DepthGuard` first, which cuts whatever nests deeper than
  ``DOCUMENT_MAX_DEPTH`` out of the bytes (replaced by a placeholder string) before ijson can
  spend memory on it; a record that may nest deeper than the record limit (any record read
  after the document went that deep) is marked ``maybe_deep`` for the pipeline to check.

Positions: the 1-based ordinal of the entry (a record, or something unreadable in its place) in
the file, whatever the layout (JSON Lines, a one-line REST page, an array of pages, ...).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, BinaryIO

import ijson

from revops.ingest import detect
from revops.ingest.guard import DepthGuard
from revops.ingest.limits import DEFAULT, DOCUMENT_MAX_DEPTH, Limits
from revops.ingest.rawjson import clean_text

SNIFF_LIMIT = 1 << 20
BUFFER = 1 << 16
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"


@dataclass
class Candidate:
    """A value to map as one record."""

    position: int
    value: Any
    stream: str | None = None
    maybe_deep: bool = False  # may nest deeper than the record limit: the pipeline checks


@dataclass
class Bad:
    """Something at this position could not be read; it is quarantined as one rejected entry."""

    position: int | None
    reason: str
    raw_text: str


Entry = Candidate | Bad


@dataclass
class ReadInfo:
    reader: str = "empty"  # jsonl | json_array | json_document | not_json | empty
    kinds: Counter[str] = field(default_factory=Counter)  # envelope kinds seen (detect.unwrap)
    protocol: Counter[str] = field(default_factory=Counter)  # Singer/Airbyte protocol messages
    plan: list[Any] | None = None  # the file is an sf tree plan
    claimed_total: int | None = None  # totalSize as written (never trusted)
    sha256: str = ""
    bytes_read: int = 0
    encoding: str = "utf-8"  # as found; anything else was transcoded to UTF-8


class _Stream(io.RawIOBase):
    """A raw stream with push-back; a :class:`DepthGuard`, once set, sees every byte read."""

    def __init__(self) -> None:
        self._prefix = b""
        self._ready = b""  # what the guard let through, not yet read
        self.guard: DepthGuard | None = None

    def readable(self) -> bool:
        return True

    def push_back(self, data: bytes) -> None:
        self._prefix = data + self._prefix

    def _fill(self, size: int) -> bytes:
        raise NotImplementedError

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._ready:
            if self._prefix:  # at most BUFFER at a time: the guard's work grows with its input
                data, self._prefix = self._prefix[:BUFFER], self._prefix[BUFFER:]
            else:
                data = self._fill(max(len(view), BUFFER))
            if not data:
                return 0
            self._ready = data if self.guard is None else self.guard.feed(data)
        data = self._ready[: len(view)]
        self._ready = self._ready[len(data) :]
        view[: len(data)] = data
        return len(data)


class HashingStream(_Stream):
    """Reads from ``source`` and hashes every byte; :meth:`drain` hashes the unread rest."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def _fill(self, size: int) -> bytes:
        data = self._source.read(size)
        if data:
            self.digest.update(data)
            self.size += len(data)
        return data

    def drain(self) -> None:
        self._prefix = self._ready = b""
        while chunk := self._source.read(BUFFER):
            self.digest.update(chunk)
            self.size += len(chunk)


class Utf8Stream(_Stream):
    """UTF-16/32 bytes from ``source`` as UTF-8 (undecodable bytes become U+FFFD)."""

    def __init__(self, source: _Stream, encoding: str) -> None:
        super().__init__()
        self._source = source
        self._decoder = codecs.getincrementaldecoder(encoding)("replace")
        self._pending = b""
        self._done = False

    def _fill(self, size: int) -> bytes:
        while not self._pending and not self._done:
            data = self._source.read(BUFFER)
            self._done = not data
            self._pending = self._decoder.decode(data or b"", final=self._done).encode("utf-8")
        data, self._pending = self._pending[:size], self._pending[size:]
        return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


def loads(data: bytes | str) -> Any:
    """:func:`json.loads` with exact decimals, through one decoder (not one per call)."""
    if isinstance(data, bytes | bytearray):
        data = data.decode(json.detect_encoding(data), "surrogatepass")
    return _DECODER.decode(data)


class Reader:
    """Iterate the entries of one source; ``info`` is complete once iteration ends."""

    def __init__(self, source: BinaryIO, limits: Limits = DEFAULT) -> None:
        self.info = ReadInfo()
        self._hashing = HashingStream(source)
        self._position = 0
        self._max_depth = limits.max_depth
        self._guard: DepthGuard | None = None

    def __iter__(self) -> Iterator[Entry]:
        try:
            yield from self._read()
        finally:
            self._hashing.drain()
            self.info.sha256 = self._hashing.digest.hexdigest()
            self.info.bytes_read = self._hashing.size

    # -- dispatch -----------------------------------------------------------------------------
    def _open(self) -> _Stream:
        """The stream to parse: the file itself, or its UTF-16/32 text as UTF-8."""
        raw = self._hashing
        start = raw.read(BUFFER)
        while 0 < len(start) < 4 and (more := raw.read(BUFFER)):
            start += more
        raw.push_back(start)
        encoding = json.detect_encoding(start[:4]) if start else "utf-8"
        if encoding in ("utf-8", "utf-8-sig"):
            return raw
        self.info.encoding = encoding
        return Utf8Stream(raw, encoding)

    def _read(self) -> Iterator[Entry]:
        raw = self._open()
        head = b""
        while True:  # up to the first line with content (or SNIFF_LIMIT bytes, or the end)
            chunk = raw.read(BUFFER)
            if not chunk:
                break
            head += chunk
            content = head.removeprefix(_BOM).lstrip(_WHITESPACE)
            if not content and len(head) >= SNIFF_LIMIT:
                head = b""  # a long run of blank lines: drop it, keep looking
                continue
            if b"\n" in content or len(head) >= SNIFF_LIMIT:
                break
        head = head.removeprefix(_BOM)
        stripped = head.lstrip(_WHITESPACE)
        if not stripped:
            return  # empty (or whitespace only): no records, nothing wrong
        raw.push_back(head)
        stream = io.BufferedReader(raw, BUFFER)
        first_line = stripped.split(b"\n", 1)[0]
        complete = False
        if stripped[:1] != b"[" and (b"\n" in stripped or len(head) < SNIFF_LIMIT):
            try:  # the first line is all there: is it a whole JSON value?
                loads(first_line)
                complete = True
            except (ValueError, RecursionError):
                pass
        if stripped[:1] == b"[":
            self.info.reader = "json_array"
            raw.guard = self._guard = DepthGuard(DOCUMENT_MAX_DEPTH)
            yield from self._array(stream)
        elif complete:
            self.info.reader = "jsonl"
            yield from self._jsonl(stream)
        elif stripped[:1] == b"{":
            self.info.reader = "json_document"
            raw.guard = self._guard = DepthGuard(DOCUMENT_MAX_DEPTH)
            yield from self._documents(stream)
        else:
            self.info.reader = "not_json"
            yield Bad(None, "not JSON", clean_text(head[:2000].decode("utf-8", "replace")))

    def _next_position(self) -> int:
        self._position += 1
        return self._position

    def _maybe_deep(self) -> bool:
        """Whether a record read so far through ijson may nest deeper than the record limit."""
        return self._guard is not None and self._guard.deepest > self._max_depth

    def _emit(self, value: Any, line: bool = False, deep: bool = False) -> Iterator[Entry]:
        """Unwrap one top-level value (a JSON Lines ``line`` or not) into its records."""
        unwrapped = detect.unwrap(value)
        self.info.kinds[unwrapped.kind] += 1
        if unwrapped.protocol:
            self.info.protocol[unwrapped.protocol] += 1
            return
        if unwrapped.error is not None:
            yield Bad(  # a whole-document error has no record position
                self._next_position() if line else None,
                f"sf CLI error envelope: {unwrapped.error}",
                _text(value),
            )
            return
        if isinstance(value, dict) and isinstance(value.get("totalSize"), int):
            self.info.claimed_total = (self.info.claimed_total or 0) + value["totalSize"]
        guard = self._guard
        deep = deep or (guard is not None and guard.deepest > self._max_depth)
        for record in unwrapped.records:
            yield Candidate(self._next_position(), record, unwrapped.stream, deep)

    # -- JSON Lines ---------------------------------------------------------------------------
    def _jsonl(self, stream: BinaryIO) -> Iterator[Entry]:
        limit = self._max_depth
        for number, line in enumerate(stream, start=1):
            if number == 1 and line.startswith(_BOM):
                line = line[len(_BOM) :]
            if not line.strip():
                continue
            try:
                value = loads(line)
            except RecursionError:
                text = clean_text(line[:2000].decode("utf-8", "replace").rstrip("\r\n"))
                yield Bad(self._next_position(), _too_deep(limit, number), text)
                continue
            except ValueError as exc:
                text = clean_text(line.decode("utf-8", "replace").rstrip("\r\n"))
                reason = f"invalid JSON: {_reason(exc)} (line {number})"
                yield Bad(self._next_position(), reason, text)
                continue
            # a line nests at most as deep as it has opening brackets (strings included)
            deep = line.count(b"[") + line.count(b"{") > limit
            yield from self._emit(value, line=True, deep=deep)

    # -- a top-level array --------------------------------------------------------------------
    def _array(self, stream: BinaryIO) -> Iterator[Entry]:
        items = ijson.items(stream, "item", use_float=False, multiple_values=True)
        first = True
        while True:
            try:
                item = next(items)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - any ijson/decoding error ends the file
                yield self._broken(exc)
                return
            if first and detect.is_plan_step(item):
                yield from self._plan(item, items)
                return
            first = False
            if detect.is_page(item):
                self.info.kinds[detect.page_kind(item)] += 1
                deep = self._maybe_deep()
                for record in item["records"]:
                    yield Candidate(self._next_position(), record, None, deep)
            else:
                if not self.info.kinds:
                    self.info.kinds["bulk_json_array"] += 1
                yield from self._emit(item)

    def _plan(self, first: Any, items: Iterator[Any]) -> Iterator[Entry]:
        steps = [first]
        try:
            steps.extend(items)
        except Exception as exc:  # noqa: BLE001
            yield self._broken(exc)
            return
        self.info.plan = steps
        self.info.kinds["sf_tree_plan"] += 1

    def _broken(self, exc: BaseException) -> Bad:
        reason = f"invalid JSON after record {self._position}: {_reason(exc)}"
        return Bad(self._next_position(), reason, "")

    @property
    def removed_too_deep(self) -> int:
        """Containers nested deeper than DOCUMENT_MAX_DEPTH, cut out before parsing."""
        return self._guard.removed if self._guard is not None else 0

    # -- JSON documents (objects), streamed through ijson events --------------------------
    def _documents(self, stream: BinaryIO) -> Iterator[Entry]:
        events = ijson.parse(stream, use_float=False, multiple_values=True)
        try:
            for _prefix, event, value in events:
                if event == "start_map":
                    yield from self._object(events)
                elif event == "start_array":
                    for item in _array_items(events):
                        yield from self._emit(item)
                else:
                    yield from self._emit(value)
        except Exception as exc:  # noqa: BLE001 - ijson raises its own error types
            yield self._broken(exc)

    def _object(self, events: Iterator[tuple[str, str, Any]]) -> Iterator[Entry]:
        """A top-level object: stream ``records`` and ``result.records``; build the rest."""
        meta: dict[str, Any] = {}
        streamed = False
        for _prefix, event, key in events:
            if event == "end_map":
                break
            _p, value_event, value = next(events)
            if key == "records" and value_event == "start_array":
                streamed = True
                for record in _array_items(events):
                    yield Candidate(self._next_position(), record, None, self._maybe_deep())
            elif key == "result" and value_event == "start_map":
                result: dict[str, Any] = {}
                for _p2, event2, key2 in events:
                    if event2 == "end_map":
                        break
                    _p3, value_event2, value2 = next(events)
                    if key2 == "records" and value_event2 == "start_array":
                        streamed = True
                        for record in _array_items(events):
                            yield Candidate(self._next_position(), record, None, self._maybe_deep())
                    else:
                        result[key2] = _build(events, value_event2, value2)
                meta[key] = result
            else:
                meta[key] = _build(events, value_event, value)
        if not streamed:
            yield from self._emit(meta)
            return
        if detect.is_cli_envelope(meta):
            self.info.kinds["sf_cli_json"] += 1
            if meta["status"] != 0:
                message = detect.cli_error_message(meta)
                yield Bad(None, f"sf CLI error envelope: {message}", _text(meta))
        else:
            self.info.kinds[detect.page_kind(meta)] += 1
            if isinstance(meta.get("totalSize"), int):
                self.info.claimed_total = (self.info.claimed_total or 0) + meta["totalSize"]


def _build(events: Iterator[tuple[str, str, Any]], event: str, value: Any) -> Any:
    """The complete value that starts with (event, value)."""
    if event not in ("start_map", "start_array"):
        return value
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1
    for _prefix, ev, val in events:
        builder.event(ev, val)
        if ev in ("start_map", "start_array"):
            depth += 1
        elif ev in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                break
    return builder.value


def _array_items(events: Iterator[tuple[str, str, Any]]) -> Iterator[Any]:
    """The elements of an array whose start_array was just consumed."""
    for _prefix, event, value in events:
        if event == "end_array":
            return
        yield _build(events, event, value)


def _text(value: Any) -> str:
    from revops.ingest.rawjson import quarantine_text

    return quarantine_text(value)


def _too_deep(limit: int, line: int) -> str:
    return f"value nested too deep: more than {limit} levels (line {line})"


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return clean_text(text[:200])
