"""Where the tests find the programs they run (importable as `toolpaths`).

Dev tools (shellcheck, zizmor, check-jsonschema, yamllint, revops) come from the dev extra, so
they are looked up in the running interpreter's environment, never on PATH: a bare
`python -m pytest` from an unactivated venv finds them, and a tool of another environment on
PATH is never picked by mistake. A missing dev tool fails the test.

System tools that PyPI does not ship (`systemd-analyze` from Debian's `systemd`, the
`cloud-init schema` extra check) are found on PATH. They are extras: when absent, the test is
skipped with the reason printed in pytest's summary, except under CI (`CI` set), where
`.ci/run` installs them and a missing one fails.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

import pytest


def script_dirs() -> list[Path]:
    """The running interpreter's scripts directories (venv `bin`, then the base one)."""
    dirs = [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]
    return list(dict.fromkeys(dirs))


def dev_tool(name: str) -> str:
    """A console script of the dev extra, from this interpreter's environment only."""
    for directory in script_dirs():
        for candidate in (directory / name, directory / f"{name}.exe"):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    pytest.fail(
        f"{name} not found beside {sys.executable}: install the dev extra"
        " (pip install -e '.[dev]') into this interpreter's environment"
    )


def system_tool(name: str, debian_package: str) -> str:
    """A system program (PATH); skipped with a reason when absent, except under CI."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} not found (Debian package '{debian_package}'): optional extra check"
    if os.environ.get("CI"):
        pytest.fail(f"{message}, required when CI is set (.ci/run installs it)")
    pytest.skip(message)
