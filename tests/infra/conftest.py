"""Fixtures of the infra tests: the Pulumi program under mocks (see pulumi_harness.py).

The repository root goes on sys.path so `import infra` works under plain `pytest` too (infra/
is the Pulumi program, not an installed package).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pulumi_harness import REGION, Program, run_program


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bundles")


@pytest.fixture(scope="session")
def default_program(bundle_dir: Path) -> Program:
    """The stack with only aws:region configured."""
    return run_program({"aws:region": REGION}, bundle_dir)
