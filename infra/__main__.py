"""Pulumi entry point: build the stack (see infra/stack.py)."""

import sys
from pathlib import Path

# Pulumi runs this file with infra/ as the program directory; import it as the `infra` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.stack import build

build()
