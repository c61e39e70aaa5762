"""First-deploy blockers of issue 15 (section 4): what a first `pulumi up` in a real account trips on.

Each test names the failure it prevents; the program runs under the mocks of pulumi_harness.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_infra_module_shadows_the_standard_library() -> None:
    """infra/ is put on sys.path by Pulumi: a module named like a stdlib one hides it."""
    names = {p.stem for p in (ROOT / "infra").glob("*.py")} - {"__init__", "__main__"}
    assert not names & set(sys.stdlib_module_names), names & set(sys.stdlib_module_names)
