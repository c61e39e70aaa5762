"""The host's wheelhouse: is it complete, and built for the host's Python and architecture?

The host (Amazon Linux 2023, CPython 3.11, x86_64 or aarch64) installs with `pip --no-index`
from the wheels in the code bundle, so a wheelhouse that misses a dependency or holds wheels of
another architecture fails the first boot, late and far from the cause. Two traps:

- `pip download --python-version 3.11` evaluates environment markers against the Python that
  *runs* pip: built with Python 3.13+, `typing-extensions; python_version < "3.13"` (a psycopg
  dependency) is left out although the host's 3.11 needs it.
- a wheelhouse built for x86_64 shipped to a Graviton host (or the reverse).

`problems()` answers both from the wheels' own file names and METADATA, evaluating every marker
for the host, and `pulumi up` refuses a bundle with problems. `missing()` is what
infra/host/build-wheelhouse.sh downloads after pip's own resolution, until nothing is missing.

Standalone on purpose (no `infra` import, `packaging` or pip's vendored copy): the build script
runs it with whatever Python builds the wheelhouse:

    python infra/wheelhouse.py missing|check --arch x86_64|aarch64 DIR PYPROJECT
"""

from __future__ import annotations

import argparse
import sys
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

try:
    from packaging.markers import Marker
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version
except ImportError:  # pragma: no cover - a bare Python with pip only
    from pip._vendor.packaging.markers import Marker  # type: ignore[no-redef]
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef]
    from pip._vendor.packaging.version import Version  # type: ignore[no-redef]

#: The host's interpreter: AL2023's python3.11 package.
HOST_PYTHON = (3, 11)
HOST_PYTHON_FULL = "3.11.13"
#: EC2 architecture (Settings.architecture) -> wheel platform machine.
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}


@dataclass(frozen=True)
class Wheel:
    path: Path
    name: str  # canonical
    version: str
    tags: frozenset[tuple[str, str, str]]  # (python, abi, platform)


def parse_wheel(path: Path) -> Wheel:
    """Name, version and tag triples from a wheel's file name (PEP 427, compressed tag sets)."""
    parts = path.name.removesuffix(".whl").split("-")
    if len(parts) not in (5, 6):
        raise ValueError(f"{path.name}: not a wheel file name")
    name, version = parts[0], parts[1]
    pythons, abis, platforms = parts[-3].split("."), parts[-2].split("."), parts[-1].split(".")
    tags = frozenset((p, a, pl) for p in pythons for a in abis for pl in platforms)
    return Wheel(path, canonicalize_name(name), version, tags)


def _python_ok(python: str, abi: str) -> bool:
    major, minor = HOST_PYTHON
    if python in ("py3", f"py{major}{minor}", f"py{major}"):
        return abi == "none"
    if python == f"cp{major}{minor}":
        return abi in (f"cp{major}{minor}", "abi3", "none")
    if python.startswith(f"cp{major}") and abi == "abi3":  # stable ABI of an older CPython
        return python[3:].isdigit() and int(python[3:]) <= minor
    return False


def _platform_ok(platform: str, machine: str) -> bool:
    if platform == "any":
        return True
    # AL2023 has glibc 2.34: manylinux_2_34 and older, and the legacy aliases.
    if platform in (f"manylinux1_{machine}", f"manylinux2010_{machine}"):
        return True
    if platform == f"manylinux2014_{machine}":
        return True
    if platform.startswith("manylinux_") and platform.endswith(f"_{machine}"):
        glibc = platform.removeprefix("manylinux_").removesuffix(f"_{machine}").split("_")
        return (
            len(glibc) == 2
            and all(p.isdigit() for p in glibc)
            and (
                int(glibc[0]),
                int(glibc[1]),
            )
            <= (2, 34)
        )
    return False


def installable(wheel: Wheel, machine: str) -> bool:
    """Whether pip on the host (CPython 3.11, glibc 2.34, `machine`) can install this wheel."""
    return any(_python_ok(p, a) and _platform_ok(pl, machine) for p, a, pl in wheel.tags)


def requires_dist(path: Path) -> list[str]:
    """The Requires-Dist lines of a wheel's METADATA."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        if not names:
            raise ValueError(f"{path.name}: no .dist-info/METADATA")
        text = archive.read(min(names, key=len)).decode("utf-8", errors="replace")
    return list(Parser().parsestr(text, headersonly=True).get_all("Requires-Dist") or [])


def host_environment(machine: str, extra: str = "") -> dict[str, str]:
    """Marker environment of the host (PEP 508), independent of the Python running this."""
    major, minor = HOST_PYTHON
    return {
        "implementation_name": "cpython",
        "implementation_version": HOST_PYTHON_FULL,
        "os_name": "posix",
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": HOST_PYTHON_FULL,
        "python_version": f"{major}.{minor}",
        "sys_platform": "linux",
        "extra": extra,
    }


def _applies(requirement: Requirement, machine: str, extras: Iterable[str]) -> bool:
    marker: Marker | None = requirement.marker
    if marker is None:
        return True
    options = [*extras] or [""]
    return any(marker.evaluate(host_environment(machine, extra)) for extra in options)


def project_requirements(pyproject: Path) -> list[str]:
    """What the host installs: dependencies, the aws extra, and the build backend."""
    data: dict[str, Any] = tomllib.loads(pyproject.read_text())
    project = data["project"]
    return [
        *project["dependencies"],
        *project.get("optional-dependencies", {}).get("aws", []),
        *data.get("build-system", {}).get("requires", []),
    ]


def wheels_in(directory: Path) -> list[Wheel]:
    return sorted((parse_wheel(p) for p in directory.glob("*.whl")), key=lambda w: w.path.name)


def missing(directory: Path, roots: Sequence[str], machine: str) -> list[str]:
    """Requirements (with the package that needs them) no installable wheel satisfies."""
    available: dict[str, list[Wheel]] = {}
    for wheel in wheels_in(directory):
        if installable(wheel, machine):
            available.setdefault(wheel.name, []).append(wheel)
    out: list[str] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    queue: list[tuple[str, str, frozenset[str]]] = [(r, "the project", frozenset()) for r in roots]
    while queue:
        text, needed_by, parent_extras = queue.pop(0)
        requirement = Requirement(text)
        if not _applies(requirement, machine, parent_extras):
            continue
        name = canonicalize_name(requirement.name)
        candidates = [
            w
            for w in available.get(name, [])
            if requirement.specifier.contains(Version(w.version), prereleases=True)
        ]
        if not candidates:
            out.append(f"{requirement.name}{requirement.specifier} (needed by {needed_by})")
            continue
        extras = frozenset(requirement.extras)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        best = max(candidates, key=lambda w: Version(w.version))
        for dependency in requires_dist(best.path):
            queue.append((dependency, f"{name} {best.version}", extras))
    return sorted(set(out))


def problems(directory: Path, pyproject: Path, architecture: str) -> list[str]:
    """Everything that would make `pip install --no-index` fail on the host; [] when fine."""
    machine = MACHINES[architecture]
    wheels = wheels_in(directory) if directory.is_dir() else []
    if not wheels:
        return [f"no wheels in {directory}"]
    found = [
        f"{w.path.name} is not installable on CPython {HOST_PYTHON[0]}.{HOST_PYTHON[1]} "
        f"{machine} (built for another Python or architecture)"
        for w in wheels
        if not installable(w, machine)
    ]
    found += [
        f"missing {item}" for item in missing(directory, project_requirements(pyproject), machine)
    ]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=("missing", "check"))
    parser.add_argument("--arch", choices=sorted(MACHINES), required=True)
    parser.add_argument("directory", type=Path)
    parser.add_argument("pyproject", type=Path)
    args = parser.parse_args(argv)
    machine = MACHINES[args.arch]
    if args.command == "missing":
        # Bare requirement strings, one a line, for `pip download --no-deps`.
        for item in missing(args.directory, project_requirements(args.pyproject), machine):
            print(item.split(" (needed by ", 1)[0])
        return 0
    found = problems(args.directory, args.pyproject, args.arch)
    for item in found:
        print(f"wheelhouse: {item}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
