"""The host's systemd units: they verify, keep the house hardening, and hold no credential.

Needs `systemd-analyze` (Debian package `systemd`, no PyPI equivalent): the tests that run it
skip with a printed reason where it is absent (a Mac, a minimal container) and fail under CI,
which installs it (tests/toolpaths.py).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from toolpaths import system_tool

UNIT_DIR = Path(__file__).resolve().parents[2] / "runner" / "systemd"
SERVICES = (
    "revops-metrics.service",
    "revops-metrics@.service",
    "revops-backfill@.service",
    "revops-metrics-failed@.service",
)
VENV_REVOPS = "/opt/revops/venv/bin/revops"
RUN_WRAPPER = "/usr/local/sbin/revops-run"  # infra/host/revops-run.sh: revops, then CloudWatch
VENV_PYTHON = "/opt/revops/venv/bin/python"
EXEC_START = {
    "revops-metrics.service": f"{RUN_WRAPPER} run --trigger systemd",
    "revops-metrics@.service": f"{RUN_WRAPPER} run --trigger %i",
    "revops-backfill@.service": f"{RUN_WRAPPER} backfill --days %i",
    "revops-metrics-failed@.service": f"{VENV_PYTHON} -m revops.cloudwatch --unit-failed %i",
}

# Each directive the house style asks of a service, with the value it must have.
REQUIRED = {
    "Type": "oneshot",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "CapabilityBoundingSet": "",
    "DynamicUser": "yes",
}


def _systemd_analyze() -> str:
    return system_tool("systemd-analyze", "systemd")


def _directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def _staged(tmp_path: Path, name: str, instance: str | None = None) -> Path:
    """Copy a unit to tmp_path with ExecStart pointing at a stub (the venv exists only on hosts)."""
    stub = tmp_path / "revops"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    text = (UNIT_DIR / name).read_text()
    for program in (VENV_REVOPS, RUN_WRAPPER, VENV_PYTHON):
        text = text.replace(program, str(stub))
    target = tmp_path / (name.replace("@.", f"@{instance}.") if instance else name)
    target.write_text(text)
    return target


@pytest.mark.parametrize("name", [*SERVICES, "revops-metrics.timer"])
def test_unit_verifies(tmp_path: Path, name: str) -> None:
    units = [_staged(tmp_path, name, instance="30" if "@" in name else None)]
    if name.endswith(".timer"):
        units.append(_staged(tmp_path, "revops-metrics.service"))
    result = subprocess.run(
        [_systemd_analyze(), "verify", "--man=no", *map(str, units)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_service_hardening(name: str) -> None:
    directives = _directives((UNIT_DIR / name).read_text())
    for key, value in REQUIRED.items():
        assert value in directives.get(key, []), f"{name}: {key}={value} missing"
    assert "@system-service" in directives["SystemCallFilter"]
    (exec_start,) = directives["ExecStart"]
    assert exec_start == EXEC_START[name]
    if name != "revops-metrics-failed@.service":
        # A failure is published even when the run cannot report it (crash, timeout).
        assert directives["OnFailure"] == ["revops-metrics-failed@%p.service"]


@pytest.mark.parametrize("name", SERVICES)
def test_no_credentials_in_units(name: str) -> None:
    text = (UNIT_DIR / name).read_text()
    directives = _directives(text)
    env = " ".join(directives.get("Environment", []))
    assert not re.search(r"PASSWORD|PGPASS|SECRET_ACCESS|TOKEN|DSN", env, re.IGNORECASE)
    assert directives["EnvironmentFile"] == ["/etc/revops/runner.env"]
    assert "postgresql://" not in text


@pytest.mark.parametrize("name", SERVICES)
def test_exposure_score_matches_header(tmp_path: Path, name: str) -> None:
    """The score written in the header is the one systemd computes (or better)."""
    header = re.search(r"exposure (\d+\.\d)", (UNIT_DIR / name).read_text())
    assert header, f"{name}: no exposure score in the header comment"
    staged = _staged(tmp_path, name, instance="30" if "@" in name else None)
    result = subprocess.run(
        [_systemd_analyze(), "security", "--offline=yes", "--no-pager", str(staged)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert score, result.stdout + result.stderr
    assert float(score.group(1)) <= float(header.group(1)) + 0.05
    assert float(score.group(1)) < 2.0


def test_timer_schedule() -> None:
    directives = _directives((UNIT_DIR / "revops-metrics.timer").read_text())
    (on_calendar,) = directives["OnCalendar"]
    # An explicit time zone, never the host's local time.
    assert re.fullmatch(r"\*-\*-\* \d\d:\d\d:\d\d [A-Za-z_/+-]+", on_calendar)
    assert directives["Persistent"] == ["true"]
    (delay,) = directives["RandomizedDelaySec"]
    assert re.fullmatch(r"\d+(min|s)?", delay)
    assert directives["Unit"] == ["revops-metrics.service"]


@pytest.mark.parametrize("name", ["revops-metrics.service", "revops-metrics@.service"])
def test_a_skipped_run_is_not_a_unit_failure(name: str) -> None:
    """`revops run` exits 5 when another writer held the metrics lock or an ingest kept
    loading: nothing was consumed and the next run does it, so no OnFailure= page."""
    directives = _directives((UNIT_DIR / name).read_text())
    assert directives["SuccessExitStatus"] == ["5"]
