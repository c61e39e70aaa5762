"""Fast tests of the runner's pure parts: CLI parsing, chunking, configuration, SCRAM."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest

from revops import config, local_secrets, runs
from revops.bootstrap import scram_verifier, verifier_matches
from revops.cli import build_parser, main


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "up",
        "down",
        "bootstrap",
        "generate",
        "run",
        "backfill",
        "status",
        "psql",
        "demo",
    ):
        assert command in out
    assert "Exit codes" in out


def test_backfill_needs_days_or_from() -> None:
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["backfill"])
    with pytest.raises(SystemExit):
        parser.parse_args(["backfill", "--days", "3", "--from", "2025-01-01"])
    args = parser.parse_args(["backfill", "--from", "2025-01-01", "--to", "2025-01-05"])
    assert args.from_date == dt.date(2025, 1, 1)
    assert args.to_date == dt.date(2025, 1, 5)


def test_unknown_trigger_is_refused() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--trigger", "cron"])


def d(day: int) -> dt.date:
    return dt.date(2025, 1, day)


def test_chunks_split_on_gaps_and_size() -> None:
    days = [d(1), d(2), d(3), d(4), d(5), d(8), d(9), d(20)]
    assert list(runs.chunks(days, 2)) == [
        (d(1), d(2)),
        (d(3), d(4)),
        (d(5), d(5)),
        (d(8), d(9)),
        (d(20), d(20)),
    ]
    assert list(runs.chunks(days, 31)) == [(d(1), d(5)), (d(8), d(9)), (d(20), d(20))]
    assert list(runs.chunks([], 5)) == []


def test_external_server_detection() -> None:
    assert not config.uses_external_server({})
    assert config.uses_external_server({"PGHOST": "db.internal"})
    assert config.uses_external_server({"REVOPS_DSN": "host=x"})
    assert not config.uses_external_server({"PGDATABASE": "x"})


def test_generated_role_password_is_stable_and_private(tmp_path: Path) -> None:
    first = config.role_password("revops_runner", tmp_path, {})
    assert config.role_password("revops_runner", tmp_path, {}) == first
    assert len(first) >= 32
    mode = stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode)
    assert mode == 0o600
    assert (
        config.role_password("revops_runner", tmp_path, {"REVOPS_RUNNER_PASSWORD": "given"})
        == "given"
    )


def test_pgpass_escapes_and_is_private(tmp_path: Path) -> None:
    local_secrets.save_local_secrets(tmp_path, {"revops_bi": "a:b\\c"})
    path = local_secrets.write_pgpass(tmp_path, 5433)
    assert path.read_text() == "127.0.0.1:5433:*:revops_bi:a\\:b\\\\c\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_scram_verifier_round_trip() -> None:
    verifier = scram_verifier("s3cret", salt=b"0123456789abcdef")
    assert verifier.startswith("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$")
    assert verifier_matches(verifier, "s3cret")
    assert not verifier_matches(verifier, "other")
    assert not verifier_matches(None, "s3cret")
    assert not verifier_matches("md5abc", "s3cret")


def test_embedded_target_without_cluster_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="revops up"):
        config.role_target("revops_runner", {"REVOPS_HOME": str(tmp_path)})
