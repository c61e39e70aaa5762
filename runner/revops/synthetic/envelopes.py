"""File writers of an export: one :class:`Sink` per object type, writing its records in one
envelope (REST pages, sf CLI, tree, bulk, Singer, Airbyte, JSON Lines) as they stream in."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from revops.synthetic.records import (
    _PLANS,
    OBJECTS_OF,
    OWNED,
    TREE_LOOKUPS,
    Record,
    bulk_value,
    json_value,
)
from revops.synthetic.schema import COLUMNS

API = "/services/data/v60.0"
_PAD = 12  # characters reserved for totalSize


class ExportError(Exception):
    """The export cannot be written (bad format, a directory holding other files)."""


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


# -- sinks: one per object type, writing its files ------------------------------------------
@dataclass
class Sink:
    out: Path
    object_type: str
    fmt: str
    context: Context
    count: int = 0
    files: list[Path] = field(default_factory=list)
    _fh: IO[str] | None = None
    _first: bool = True
    _page: list[str] = field(default_factory=list)
    _max_stamp: str | None = None

    def _open(self, name: str) -> IO[str]:
        path = self.out / name
        self.files.append(path)
        return path.open("w", encoding="utf-8", newline="\n")

    def _document(self, name: str, head: str) -> None:
        self._fh = self._open(name)
        self._fh.write(head)
        self._first = True

    def _item(self, text: str) -> None:
        if self._fh is None:  # pragma: no cover - write() opens the document first
            raise RuntimeError("no open document")
        self._fh.write(text if self._first else ",\n" + text)
        self._first = False

    def write(self, record: Record) -> None:
        self.count += 1
        fmt, kind = self.fmt, self.object_type
        if fmt == "rest":
            self._page.append(_dumps(self._attributed(record, url=True)))
            if len(self._page) > self.context.page_size:
                self._flush_page(last=False)
        elif fmt == "sfcli":
            if self._fh is None:
                self._document(f"{kind}.json", '{"status":0,"result":{"totalSize":'
                               + " " * _PAD + ',"done":true,"records":[\n')  # fmt: skip
            self._item(_dumps(self._attributed(record, url=True)))
        elif fmt == "tree":
            if self._fh is None:
                self._document(f"{kind}.json", '{"records":[\n')
            self._item(_dumps(self._tree(record)))
        elif fmt == "bulk":
            if self._fh is None:
                self._document(f"{kind}.json", "[\n")
            self._item(_dumps(self._bulk(record)))
        else:
            self._jsonl(record)

    # envelopes
    def _attributed(self, record: Record, *, url: bool) -> Record:
        attributes = {"type": self.object_type}
        if url:
            attributes["url"] = f"{API}/sobjects/{self.object_type}/{record['Id']}"
        return {"attributes": attributes, **{k: json_value(v) for k, v in record.items()}}

    def _tree(self, record: Record) -> Record:
        known = self.context.exported_ids
        out: Record = {
            "attributes": {"type": self.object_type, "referenceId": f"ref{record['Id']}"}
        }
        for name, value in record.items():
            if name == "Id":
                continue
            if name in TREE_LOOKUPS and isinstance(value, str) and value in known:
                out[name] = f"@ref{value}"
            else:
                out[name] = json_value(value)
        return out

    def _bulk(self, record: Record) -> dict[str, str]:
        out = {k: bulk_value(v) for k, v in record.items()}
        if self.object_type in OWNED:
            out["Owner.Name"] = self.context.owner_names.get(record.get("OwnerId") or "", "")
        return out

    def _jsonl(self, record: Record) -> None:
        fmt, kind = self.fmt, self.object_type
        if self._fh is None:
            self._fh = self._open(f"{kind}.jsonl")
            if fmt == "singer":
                self._fh.write(_dumps(self._schema()) + "\n")
        data = {k: json_value(v) for k, v in record.items()}
        if fmt == "singer":
            stamp = data.get("SystemModstamp")
            if isinstance(stamp, str) and (self._max_stamp is None or stamp > self._max_stamp):
                self._max_stamp = stamp
            line: Record = {"type": "RECORD", "stream": kind, "record": data,
                            "time_extracted": self.context.extracted_at}  # fmt: skip
        elif fmt == "airbyte":
            line = {"stream": kind, "data": data, "emitted_at": self.context.emitted_at}
        else:
            line = data
        self._fh.write(_dumps(line) + "\n")

    def _schema(self) -> Record:
        table = next(t for t, objects in OBJECTS_OF.items() if self.object_type in objects)
        types = {"date": {"type": ["null", "string"], "format": "date"},
                 "date-time": {"type": ["null", "string"], "format": "date-time"},
                 "boolean": {"type": ["null", "boolean"]}, "number": {"type": ["null", "number"]},
                 "string": {"type": ["null", "string"]}}  # fmt: skip
        properties = {}
        for name, index in _PLANS[self.object_type]:
            column = COLUMNS[table][index]
            kind = ("date-time" if column.endswith("_at") or column == "system_modstamp" else
                    "date" if column.endswith("_date") else
                    "boolean" if column.startswith("is_") else
                    "number" if column == "amount" else "string")  # fmt: skip
            properties[name] = types[kind]
        return {"type": "SCHEMA", "stream": self.object_type,
                "schema": {"type": "object", "properties": properties},
                "key_properties": ["Id"], "bookmark_properties": ["SystemModstamp"]}  # fmt: skip

    def _flush_page(self, *, last: bool) -> None:
        """Write every buffered record but one (all of them for the last page)."""
        keep = [] if last else self._page[self.context.page_size :]
        page = self._page[: self.context.page_size] if not last else self._page
        number = len(self.files) + 1
        head = '{"totalSize":' + " " * _PAD + ',"done":' + ("true" if last else "false")
        if not last:
            locator = f"01g{self.context.instance}000{self.object_type}-{number * len(page)}"
            head += ',"nextRecordsUrl":' + _dumps(f"{API}/query/{locator}")
        with self._open(f"{self.object_type}-{number:04d}.json") as fh:
            fh.write(head + ',"records":[\n' + ",\n".join(page) + "\n]}\n")
        self._page = keep

    def close(self) -> list[Path]:
        if self.fmt == "rest" and self._page:
            self._flush_page(last=True)
        if self._fh is not None:
            if self.fmt == "sfcli":
                self._fh.write('\n]},"warnings":[]}\n')
            elif self.fmt == "tree":
                self._fh.write("\n]}\n")
            elif self.fmt == "bulk":
                self._fh.write("\n]\n")
            elif self.fmt == "singer":
                bookmarks = {self.object_type: {"SystemModstamp": self._max_stamp}}
                self._fh.write(_dumps({"type": "STATE", "value": {"bookmarks": bookmarks}}) + "\n")
            self._fh.close()
            self._fh = None
        if self.fmt in ("rest", "sfcli"):
            for path in self.files:
                patch_total(path, self.count)
        return self.files


def patch_total(path: Path, total: int) -> None:
    """Write totalSize into the padding reserved for it after the first ``"totalSize":``."""
    with path.open("r+b") as fh:
        head = fh.read(256)
        offset = head.index(b'"totalSize":') + len(b'"totalSize":')
        text = str(total).encode()
        if len(text) > _PAD:  # pragma: no cover - 10^12 records
            raise ExportError("totalSize does not fit its padding")
        fh.seek(offset)
        fh.write(text.ljust(_PAD))


@dataclass
class Context:
    """What every sink needs to know about the whole export."""

    instance: str
    page_size: int
    owner_names: dict[str, str]
    exported_ids: frozenset[str]
    extracted_at: str
    emitted_at: int
