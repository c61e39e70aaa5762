"""What ``revops ingest PATH...`` means: files, directories, globs, ``-`` and sf tree plans.

- ``-`` is stdin; a glob (``*``, ``?``, ``[``) is expanded (``**`` recurses); a path that does
  not exist and matches nothing is a usage error.
- A directory is walked recursively in name order. Within one directory, each sf tree plan
  (``[{"sobject", "files", ...}]``) is loaded through its plan: its data files in step order,
  each file once even when several plans name it. The directory's other files are then loaded
  one by one. Only regular files are opened (a named pipe would block for ever): other entries
  (FIFOs, sockets, devices) and files whose first non-blank character is not ``{`` or ``[``
  (READMEs, CSVs) are listed as ignored, with the reason. The first character is read in the
  file's encoding (UTF-8, or UTF-16/32 with or without a BOM). An ignored entry named like an
  export (``.json``, ``.jsonl``, ``.ndjson``) is listed in ``looks_like_export`` too (the CLI
  then exits non-zero), and so is a non-regular entry named explicitly. A regular file named
  explicitly is always read (and quarantined if it is not JSON).
- A plan naming a missing file reports it (one quarantined entry) and loads the rest.
- The tree scope of a file (see :mod:`revops.ingest.ids`) is its directory.
"""

from __future__ import annotations

import glob
import json
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revops.ingest import detect

PLAN_MAX_BYTES = 4 << 20
_GLOB_CHARS = frozenset("*?[")
EXPORT_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson", ".jsonlines"})


@dataclass(frozen=True)
class FileWork:
    path: Path | None  # None = stdin
    display: str
    scope: str
    step_type: str | None = None


@dataclass
class MissingFile:
    step_type: str | None
    name: str
    step: dict[str, Any]


@dataclass
class PlanWork:
    path: Path
    display: str
    steps: list[dict[str, Any]]
    files: list[FileWork] = field(default_factory=list)
    missing: list[MissingFile] = field(default_factory=list)
    already_loaded: list[str] = field(default_factory=list)


Work = FileWork | PlanWork


@dataclass
class Expansion:
    work: list[Work] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # ignored path -> why
    looks_like_export: list[str] = field(default_factory=list)  # ignored, yet named like data

    def ignore(self, path: Path, reason: str, explicit: bool = False) -> None:
        self.ignored.append(str(path))
        self.reasons[str(path)] = reason
        if explicit or path.suffix.lower() in EXPORT_SUFFIXES:
            self.looks_like_export.append(str(path))


def not_regular(path: Path) -> str | None:
    """Why ``path`` is not a regular file to open (following symlinks), or None when it is."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    if stat.S_ISREG(mode):
        return None
    for test, kind in (
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return f"not a regular file: {kind}"
    return "not a regular file"


def _first_byte(path: Path) -> bytes:
    """The first non-blank character of a regular file, as one ASCII byte (b"" if none)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return b""
    encoding = json.detect_encoding(head[:4]) if head else "utf-8"
    text = head.decode(encoding, "ignore").lstrip(" \t\r\n")
    return text[:1].encode("utf-8", "replace")


def read_plan(path: Path) -> list[dict[str, Any]] | None:
    """The plan's steps when ``path`` holds an sf tree plan, else None."""
    if _first_byte(path) != b"[":
        return None
    try:
        if path.stat().st_size > PLAN_MAX_BYTES:
            return None
        value = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return value if detect.is_plan(value) else None


def plan_work(path: Path, steps: list[dict[str, Any]], seen: set[Path]) -> PlanWork:
    """The plan's data files (each once: ``seen`` holds files already loaded) and missing ones."""
    plan = PlanWork(path, str(path), steps)
    base = path.resolve().parent
    for step in steps:
        sobject = step.get("sobject")
        step_type = sobject if isinstance(sobject, str) else None
        for name in step.get("files", []):
            if not isinstance(name, str) or not name:
                plan.missing.append(MissingFile(step_type, repr(name), step))
                continue
            target = (base / name).resolve()
            if not target.is_file():
                plan.missing.append(MissingFile(step_type, name, step))
            elif target in seen:
                plan.already_loaded.append(name)
            else:
                seen.add(target)
                display = str(path.parent / name)
                plan.files.append(FileWork(target, display, str(target.parent), step_type))
    return plan


def _walk_directory(root: Path, seen: set[Path], out: Expansion) -> None:
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(current)
        names = sorted(f for f in files if not f.startswith("."))
        plans: list[tuple[Path, list[dict[str, Any]]]] = []
        data: list[Path] = []
        for name in names:
            path = here / name
            problem = not_regular(path)
            if problem is not None:
                out.ignore(path, problem)
                continue
            first = _first_byte(path)
            if first not in (b"{", b"["):
                out.ignore(path, "not JSON")
                continue
            steps = read_plan(path) if first == b"[" else None
            if steps is not None:
                plans.append((path, steps))
            else:
                data.append(path)
        for path, steps in plans:
            seen.add(path.resolve())
            out.work.append(plan_work(path, steps, seen))
        for path in data:
            _add_file(path, seen, out)


def _add_file(path: Path, seen: set[Path], out: Expansion) -> None:
    resolved = path.resolve()
    if resolved in seen:
        return
    seen.add(resolved)
    steps = read_plan(path)
    if steps is not None:
        out.work.append(plan_work(path, steps, seen))
    else:
        out.work.append(FileWork(resolved, str(path), str(resolved.parent)))


def _expand_one(arg: str) -> Iterator[Path]:
    path = Path(arg)
    if path.exists() or not (_GLOB_CHARS & set(arg)):
        yield path
        return
    for match in sorted(glob.glob(arg, recursive=True)):
        yield Path(match)


def expand(args: Sequence[str]) -> Expansion:
    """Turn command-line paths into ordered work; nothing is read beyond sniffing."""
    out = Expansion()
    seen: set[Path] = set()
    stdin_used = False
    for arg in args:
        if arg == "-":
            if not stdin_used:
                out.work.append(FileWork(None, "<stdin>", "<stdin>"))
                stdin_used = True
            continue
        matched = False
        files: list[Path] = []
        for path in _expand_one(arg):
            if path.is_dir():
                matched = True
                _walk_directory(path, seen, out)
            elif path.is_file():
                matched = True
                files.append(path)
            elif path.exists():  # a FIFO, socket or device: never opened
                matched = True
                out.ignore(path, not_regular(path) or "not a regular file", explicit=True)
        # plans first, so a glob naming a plan and its data files loads them through the plan
        for path in sorted(files, key=lambda p: read_plan(p) is None):
            _add_file(path, seen, out)
        if not matched:
            out.not_found.append(arg)
    return out
