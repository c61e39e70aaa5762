"""Numbers on the command line are checked by the parser: out of range is exit 2 with a clear
message, before any connection or date arithmetic (issue 13, item 8), and the exception ->
exit code mapping of `revops.exitcodes` keeps its meaning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from revops.cli import build_parser, main
from revops.config import ConfigError
from revops.exitcodes import EXIT_CONNECT, EXIT_FAILED, EXIT_USAGE, exit_code_for

REJECTED = [
    (["backfill", "--days", "1000000"], "--days: must be between 1 and 36500: 1000000"),
    (["backfill", "--days", "0"], "--days: must be between 1 and 36500: 0"),
    (["backfill", "--days", "-3"], "--days: must be between 1 and 36500: -3"),
    (["backfill", "--days", "1e3"], "--days: not a whole number: '1e3'"),
    (
        ["backfill", "--days", "5", "--chunk-days", "0"],
        "--chunk-days: must be between 1 and 36500: 0",
    ),
    (["run", "--horizon", "2000000000"], "--horizon: must be between 0 and 3650: 2000000000"),
    (["run", "--lookback", "1000000"], "--lookback: must be between 0 and 3650: 1000000"),
    (["run", "--lookback", "-1"], "--lookback: must be between 0 and 3650: -1"),
    (["status", "--max-lag-days", "-5"], "--max-lag-days: must be between 0 and 3650: -5"),
    (["freshness", "--max-lag-days", "99999"], "--max-lag-days: must be between 0 and 3650"),
    (["status", "--limit", "0"], "--limit: must be between 1 and 10000: 0"),
    (["generate", "--scale", "0"], "--scale: must be more than 0 and at most 100: 0"),
    (["generate", "--scale", "nan"], "--scale: must be more than 0 and at most 100: nan"),
    (["demo", "--scale", "-1"], "--scale: must be more than 0 and at most 100: -1"),
    (["bench", "--repeats", "0"], "--repeats: must be between 1 and 100: 0"),
    (["bench", "--days", "100000"], "--days: must be between 1 and 36500: 100000"),
    (["run", "--date", "2025-02-30"], "--date: not a date (YYYY-MM-DD): '2025-02-30'"),
    (["backfill", "--from", "2025-01-01"], "--from needs --to"),
]


@pytest.mark.parametrize(("argv", "message"), REJECTED, ids=lambda v: " ".join(v))
def test_out_of_range_is_a_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["backfill", "--days", "36500", "--chunk-days", "1"],
        ["backfill", "--days", "1"],
        ["run", "--lookback", "0", "--horizon", "0"],
        ["run", "--lookback", "3650", "--horizon", "3650"],
        ["status", "--max-lag-days", "0"],
        ["status", "--max-lag-days", "3650"],
        ["generate", "--scale", "0.01"],
        ["generate", "--scale", "100"],
    ],
    ids=lambda v: " ".join(v),
)
def test_bounds_are_inclusive(argv: list[str]) -> None:
    build_parser().parse_args(argv)


def test_a_huge_backfill_is_refused_without_a_traceback(tmp_path: Path) -> None:
    """Before: OverflowError traceback and exit 1. The parser refuses it before any work."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "REVOPS_"))}
    env["REVOPS_HOME"] = str(tmp_path / "home")
    proc = subprocess.run(
        [sys.executable, "-m", "revops.cli", "backfill", "--days", "1000000"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == EXIT_USAGE
    assert "must be between 1 and 36500" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "home").exists()


def test_exception_mapping() -> None:
    assert exit_code_for(ConfigError("fix it")) == (EXIT_USAGE, "fix it")
    code, message = exit_code_for(psycopg.OperationalError("connection refused")) or (0, "")
    assert (code, message) == (EXIT_CONNECT, "cannot connect to PostgreSQL: connection refused")
    bad_value = psycopg.errors.InvalidParameterValue("from is after to")
    assert exit_code_for(bad_value) == (EXIT_USAGE, "from is after to")
    assert exit_code_for(psycopg.errors.DivisionByZero("boom")) == (
        EXIT_FAILED,
        "database error: boom",
    )
    assert exit_code_for(ValueError("not ours")) is None


def test_passwords_are_scrubbed_from_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "s3cret-pw")
    mapped = exit_code_for(psycopg.OperationalError("auth failed for s3cret-pw"))
    assert mapped == (EXIT_CONNECT, "cannot connect to PostgreSQL: auth failed for ***")


def test_unknown_exceptions_still_propagate(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(_args: object) -> int:
        raise KeyError("bug")

    monkeypatch.setattr("revops.commands.showcase.cmd_demo", boom)
    with pytest.raises(KeyError):
        main(["demo"])
