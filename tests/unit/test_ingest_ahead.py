"""Reading ahead (revops.ingest.ahead) yields exactly what the processor yields, in order."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from revops.ingest.ahead import Ahead
from revops.ingest.pipeline import Options, Processor, process


def _jsonl(count: int) -> bytes:
    lines = [json.dumps({"Id": f"00Q{i:012d}", "Status": "Open"}) for i in range(count)]
    lines.insert(3, "not json")
    return ("\n".join(lines) + "\n").encode()


def _plain(items: list[Any]) -> list[Any]:
    return [(type(i).__name__, i.position, getattr(i, "reason", None)) for i in items]


@pytest.mark.parametrize("limit", [1, 7, 10_000])
def test_same_items_and_tally_as_the_processor(limit: int) -> None:
    data = _jsonl(50)
    expected, tally = process(io.BytesIO(data), Options(object_type="Lead"))
    ahead = Ahead(Processor(io.BytesIO(data), Options(object_type="Lead")), limit=limit)
    items = list(ahead)
    assert _plain(items) == _plain(expected)
    assert ahead.processor.tally == tally
    assert ahead.processor.reader.info.sha256 == tally_sha(data)


def tally_sha(data: bytes) -> str:
    processor = Processor(io.BytesIO(data), Options(object_type="Lead"))
    list(processor)
    return processor.reader.info.sha256


class _Failing(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._sent = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._sent:
            raise OSError("disk gone")
        self._sent = True
        buffer[: len(self._data)] = self._data
        return len(self._data)


def test_a_read_error_comes_after_the_items_read_before_it() -> None:
    data = _jsonl(5)
    ahead = Ahead(Processor(_Failing(data), Options(object_type="Lead")))  # type: ignore[arg-type]
    seen = []
    with pytest.raises(OSError, match="disk gone"):
        seen.extend(ahead)
    assert len(seen) == 6  # 5 records and the bad line, all in the first read


def test_close_abandons_the_rest() -> None:
    ahead = Ahead(Processor(io.BytesIO(_jsonl(100)), Options(object_type="Lead")), limit=10)
    ahead.close()
    assert ahead.processor.reader.info.bytes_read == len(_jsonl(100))  # hashed to the end
