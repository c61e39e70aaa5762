"""RevOps daily metrics: thin Python orchestration around SQL in db/."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("revops-metrics")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"


@lru_cache(maxsize=1)
def code_version() -> str:
    """Package version plus the git commit when running from a checkout (recorded in run_log)."""
    repo = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(  # noqa: S603 - fixed git invocation, no user input
            ["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"],  # noqa: S607
            check=True,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{sha}" if sha else __version__
