"""Validate cloud-init user data with `jsonschema` and cloud-init's vendored JSON schema
(importable as `cloudconfig`; the schema, its version and licence: tests/fixtures/cloud-init/)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator, FormatChecker

VENDORED = Path(__file__).resolve().parent / "fixtures" / "cloud-init"
SCHEMA = VENDORED / "schema-cloud-config-v1.json"


def vendored_version() -> tuple[int, ...]:
    """The cloud-init release the vendored schema comes from (its README's version line)."""
    text = (VENDORED / "README.md").read_text()
    match = re.search(r"^cloud-init version: (\d+(?:\.\d+)*)\s*$", text, re.MULTILINE)
    assert match, f"no 'cloud-init version: X.Y.Z' line in {VENDORED / 'README.md'}"
    return version_tuple(match.group(1))


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


@functools.cache
def _validator() -> Draft4Validator:
    schema: dict[str, Any] = json.loads(SCHEMA.read_text())
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=FormatChecker())


def errors(user_data: str) -> list[str]:
    """Problems with a #cloud-config document, as `path: message` lines (empty when valid)."""
    if not user_data.startswith("#cloud-config\n"):
        return ["user data does not start with '#cloud-config'"]
    doc = yaml.safe_load(user_data)
    if not isinstance(doc, dict):
        return ["cloud-config is not a mapping"]
    return [
        f"{'.'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in sorted(
            _validator().iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]
        )
    ]
