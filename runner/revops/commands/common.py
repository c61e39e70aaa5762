"""Small helpers the command modules share."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TypeAlias

from revops import config

if TYPE_CHECKING:
    from revops.embedded import LocalCluster

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def progress(message: str) -> None:
    """Progress and notes go to stderr (stdout is for results and --json)."""
    print(message, file=sys.stderr, flush=True)


def cluster() -> LocalCluster:
    from revops.embedded import LocalCluster

    return LocalCluster(config.revops_home() / "pgdata")


def triggers() -> tuple[str, ...]:
    from revops.runs import TRIGGERS

    return TRIGGERS
