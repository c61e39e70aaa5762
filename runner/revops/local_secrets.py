"""Passwords kept on this machine for the embedded server: ``<REVOPS_HOME>/secrets.json``.

Generated once, written atomically with mode 0600 (created with that mode, never wider), never
logged. ``write_pgpass`` turns them into a libpq password file so psql needs no password typed
or passed on its command line. Which password a role uses (Secrets Manager, environment, or
this file) is decided in :mod:`revops.config`.

Named ``local_secrets`` rather than ``secrets`` so it never reads as the standard library's
module of that name.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path


def secrets_file(home: Path) -> Path:
    return home / "secrets.json"


def load_local_secrets(home: Path) -> dict[str, str]:
    path = secrets_file(home)
    if not path.exists():
        return {}
    data: dict[str, str] = json.loads(path.read_text())
    return data


def save_local_secrets(home: Path, values: Mapping[str, str]) -> None:
    """Write secrets.json atomically with mode 0600 (created with that mode, never wider)."""
    home.mkdir(parents=True, exist_ok=True)
    path = secrets_file(home)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(dict(values), fh, indent=2, sort_keys=True)
    os.replace(tmp, path)


def new_password() -> str:
    return secrets.token_urlsafe(32)


def write_pgpass(home: Path, port: int) -> Path:
    """Write <home>/pgpass (mode 0600) for the embedded server, so psql needs no password typed
    or passed on its command line: ``PGPASSFILE=<home>/pgpass psql -h 127.0.0.1 -p PORT ...``."""
    stored = load_local_secrets(home)

    def esc(value: str) -> str:
        return value.replace("\\", "\\\\").replace(":", "\\:")

    lines = [f"127.0.0.1:{port}:*:{esc(user)}:{esc(pw)}" for user, pw in sorted(stored.items())]
    path = home / "pgpass"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path
