"""The repository is self-contained: no tracked file refers to a folder outside the checkout.

A fresh clone has no sibling folders, so a test (or a script) that reads one passes on the
machine it was written on and fails for everyone else. The needles are built by concatenation
so this file does not match itself.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = "sha" + "red"
# `..` then `/`, `\\` or `,` (quotes and spaces allowed between), then the folder's name; or
# the absolute /work path of it. test_the_needle_finds_what_it_should lists the spellings.
NEEDLES = re.compile(
    r"\.\.\s*[\"']?\s*[/\\,]\s*[\"']?" + SHARED + r"\b" + "|" + r"/work/" + SHARED + r"\b"
)


def tracked_files() -> list[Path]:
    if not (ROOT / ".git").exists():
        pytest.fail(f"{ROOT} is not a git checkout: this test needs `git ls-files`")
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_the_needle_finds_what_it_should() -> None:
    for text in (
        "FIXTURES = REPO / '..' / '" + SHARED + "' / 'fixtures'",
        "cp -r ../" + SHARED + "/fixtures tests/",
        'os.path.join("..", "' + SHARED + '")',
        "/work/" + SHARED + "/STYLE.md",
    ):
        assert NEEDLES.search(text), text
    assert not NEEDLES.search("shared_buffers = '256MB'")


def test_no_tracked_file_refers_to_the_shared_folder() -> None:
    offenders = []
    for path in tracked_files():
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if NEEDLES.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "tracked files refer to a folder outside the repository:\n" + "\n".join(
        offenders
    )
