"""Recognise an envelope from its structure (never from the file name or extension).

Every top-level JSON value (a whole document, one JSON Lines line, or one element of a
top-level array) goes through :func:`unwrap`, which says what it is:

| structure | kind |
|---|---|
| ``{"status": <int>, "result": ...}`` / ``{"status": <int>, "message": ...}`` | ``sf_cli_json`` (non-zero status: ``sf_cli_error``) |
| ``{"records": [...], "totalSize"?, "done"?, "nextRecordsUrl"?}`` | ``rest_query`` (``sf_tree`` when records carry ``attributes.referenceId``) |
| ``{"type": "RECORD", "stream": s, "record": {...}}`` | ``singer`` record; SCHEMA/STATE/... are protocol, not records |
| ``{"type": "RECORD", "record": {"stream", "data", "emitted_at"}}`` | ``airbyte`` message |
| ``{"stream": s, "data": {...}, "emitted_at"?}`` / ``{"_airbyte_data": {...} or "<json>"}`` | ``airbyte`` record |
| ``[{"sobject", "files", ...}, ...]`` | ``sf_tree_plan`` (handled by :mod:`revops.ingest.sources`) |
| anything else | a bare record (``json_record``; a non-object is rejected later) |
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

PROTOCOL_TYPES = frozenset(
    {
        "SCHEMA",
        "STATE",
        "ACTIVATE_VERSION",
        "BATCH",
        "LOG",
        "TRACE",
        "CATALOG",
        "SPEC",
        "CONNECTION_STATUS",
        "CONTROL",
    }
)


@dataclass
class Unwrapped:
    """What one top-level value holds."""

    kind: str
    records: list[Any] = field(default_factory=list)
    stream: str | None = None
    error: str | None = None  # sf CLI error envelope: its message
    protocol: str | None = None  # Singer/Airbyte protocol message type


def _has_id(obj: Mapping[str, Any]) -> bool:
    return "Id" in obj or "id" in obj


def is_plan_step(value: object) -> bool:
    return isinstance(value, dict) and "sobject" in value and isinstance(value.get("files"), list)


def is_plan(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(is_plan_step(v) for v in value)


def is_page(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("records"), list)
        and "attributes" not in value
        and not _has_id(value)
    )


def page_kind(page: Mapping[str, Any]) -> str:
    return "rest_query" if {"totalSize", "done", "nextRecordsUrl"} & page.keys() else "sf_tree"


def is_cli_envelope(obj: Mapping[str, Any]) -> bool:
    status = obj.get("status")
    return (
        isinstance(status, int)
        and not isinstance(status, bool)
        and bool({"result", "message", "exitCode", "warnings"} & obj.keys())
    )


def cli_error_message(obj: Mapping[str, Any]) -> str:
    parts = [str(obj[k]) for k in ("name", "message") if isinstance(obj.get(k), str) and obj[k]]
    return ": ".join(parts) or f"sf CLI status {obj.get('status')}"


def _cli(obj: Mapping[str, Any]) -> Unwrapped:
    if obj["status"] != 0:
        return Unwrapped("sf_cli_error", error=cli_error_message(obj))
    result = obj.get("result")
    if isinstance(result, dict) and isinstance(result.get("records"), list):
        return Unwrapped("sf_cli_json", records=list(result["records"]))
    if isinstance(result, list):
        return Unwrapped("sf_cli_json", records=list(result))
    if isinstance(result, dict) and "attributes" in result:
        return Unwrapped("sf_cli_json", records=[result])
    return Unwrapped("sf_cli_json")


def _airbyte_data(obj: Mapping[str, Any]) -> Unwrapped:
    data = obj["_airbyte_data"]
    if isinstance(data, str):
        # an unparseable string stays a string: rejected later as "not an object"
        with contextlib.suppress(ValueError, RecursionError):
            data = json.loads(data, parse_float=Decimal, parse_constant=_reject_constant)
    stream = obj.get("_airbyte_stream")
    return Unwrapped("airbyte", records=[data], stream=stream if isinstance(stream, str) else None)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def unwrap(value: object) -> Unwrapped:
    """Classify one top-level JSON value (see the module table)."""
    if not isinstance(value, dict):
        return Unwrapped("json_record", records=[value])
    kind = value.get("type")
    if isinstance(kind, str) and not _has_id(value):
        if kind == "RECORD" and isinstance(value.get("record"), dict):
            record = value["record"]
            if "stream" in record and "data" in record:
                stream = record.get("stream")
                return Unwrapped(
                    "airbyte",
                    records=[record["data"]],
                    stream=stream if isinstance(stream, str) else None,
                )
            stream = value.get("stream")
            return Unwrapped(
                "singer", records=[record], stream=stream if isinstance(stream, str) else None
            )
        if kind in PROTOCOL_TYPES:
            return Unwrapped("protocol", protocol=kind)
    if "_airbyte_data" in value:
        return _airbyte_data(value)
    if "stream" in value and "data" in value and not _has_id(value):
        stream = value.get("stream")
        return Unwrapped(
            "airbyte", records=[value["data"]], stream=stream if isinstance(stream, str) else None
        )
    if is_cli_envelope(value):
        return _cli(value)
    if is_page(value):
        return Unwrapped(page_kind(value), records=list(value["records"]))
    return Unwrapped("json_record", records=[value])
