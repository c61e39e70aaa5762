"""The host's cloud-init user data: valid cloud-config, no secret, safe env file, size limit.

Validity is checked everywhere with `jsonschema` against cloud-init's vendored JSON schema
(tests/fixtures/cloud-init/). Debian's `cloud-init schema` is an extra check when the binary is
present (skipped with a reason otherwise, required under CI).
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from infra.cloud_init import FETCH_SCRIPT, HostEnv, render_user_data
from infra.instance import HOST_CLOUD_INIT_VERSION

import cloudconfig
from toolpaths import system_tool

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:revops-dev/revops_{}-AbCdEf"
ENV = HostEnv(
    stack="dev",
    region="us-east-1",
    bundle_uri="s3://revops-dev-code-123/bundles/revops-" + "a" * 64 + ".tar.gz",
    bundle_sha256="a" * 64,
    data_volume_id="vol-0123456789abcdef0",
    postgres_major=16,
    business_timezone="America/New_York",
    run_time="06:30",
    hba_cidrs=("10.0.0.0/16", "2001:db8::/48"),
    source_db="revops_training",
    metrics_db="revops_metrics",
    etl_secret_id=ARN.format("etl"),
    fdw_reader_secret_id=ARN.format("fdw_reader"),
    runner_secret_id=ARN.format("runner"),
    bi_secret_id=ARN.format("bi"),
)


def test_schema_valid() -> None:
    assert cloudconfig.errors(render_user_data(ENV)) == []


def test_schema_check_catches_mistakes() -> None:
    """The validator really validates: wrong types and missing keys are reported."""
    bad = "#cloud-config\nruncmd: ls\nwrite_files:\n  - content: x\n    permissions: 0644\n"
    problems = cloudconfig.errors(bad)
    assert any(p.startswith("runcmd:") for p in problems), problems
    assert any("'path' is a required property" in p for p in problems), problems
    assert any(p.startswith("write_files.0.permissions:") for p in problems), problems
    assert cloudconfig.errors("runcmd: []\n") == ["user data does not start with '#cloud-config'"]


def test_vendored_schema_is_not_older_than_the_host() -> None:
    host = cloudconfig.version_tuple(HOST_CLOUD_INIT_VERSION)
    assert cloudconfig.vendored_version() >= host, (
        f"the vendored cloud-config schema ({cloudconfig.SCHEMA.parent / 'README.md'}) is older"
        f" than the host's cloud-init {HOST_CLOUD_INIT_VERSION} (infra/instance.py): vendor the"
        " schema of that release or newer"
    )


def test_debian_cloud_init_schema_extra(tmp_path: Path) -> None:
    """Extra: cloud-init's own checker, when the binary is installed."""
    tool = system_tool("cloud-init", "cloud-init")
    path = tmp_path / "user-data"
    path.write_text(render_user_data(ENV))
    result = subprocess.run(
        [tool, "schema", "--config-file", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout + result.stderr


def test_structure_and_files() -> None:
    text = render_user_data(ENV)
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)
    files = {f["path"]: f for f in doc["write_files"]}
    assert files["/usr/local/sbin/revops-fetch-bundle"]["content"] == FETCH_SCRIPT.read_text()
    assert files["/usr/local/sbin/revops-fetch-bundle"]["permissions"] == "0755"
    env_lines = files["/etc/revops/host.env"]["content"].splitlines()
    assert "REVOPS_HBA_CIDRS='10.0.0.0/16 2001:db8::/48'" in env_lines
    assert "REVOPS_DATA_VOLUME_ID=vol-0123456789abcdef0" in env_lines
    assert f"REVOPS_RUNNER_SECRET_ID={ARN.format('runner')}" in env_lines
    assert doc["runcmd"] == [["/usr/local/sbin/revops-fetch-bundle"]]


def test_env_file_is_what_bash_reads(tmp_path: Path) -> None:
    """host.env is sourced by bash: every value must come back unchanged."""
    doc = yaml.safe_load(render_user_data(ENV))
    (env_file,) = [f for f in doc["write_files"] if f["path"] == "/etc/revops/host.env"]
    path = tmp_path / "host.env"
    path.write_text(env_file["content"])
    out = subprocess.run(
        ["bash", "-c", f'set -a; . "{path}"; env'],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert values["REVOPS_HBA_CIDRS"] == "10.0.0.0/16 2001:db8::/48"
    assert values["REVOPS_BUSINESS_TIMEZONE"] == "America/New_York"
    assert values["REVOPS_BUNDLE_SHA256"] == "a" * 64
    assert values["REVOPS_FDW_READER_SECRET_ID"] == ARN.format("fdw_reader")


@pytest.mark.parametrize(
    ("field", "value"),
    [("business_timezone", "UTC; rm -rf /"), ("data_volume_id", "vol-1\nX=1"), ("stack", "$(id)")],
)
def test_unsafe_values_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValueError, match="safe set"):
        render_user_data(replace(ENV, **{field: value}))


def test_no_secret_and_small() -> None:
    text = render_user_data(ENV)
    assert "PASSWORD" not in text.upper().replace("PASSWORDS ARE READ", "")
    assert len(text.encode()) < 8 * 1024  # well under EC2's 16 KiB


def test_oversized_user_data_is_refused() -> None:
    with pytest.raises(ValueError, match="over the EC2 limit"):
        render_user_data(replace(ENV, hba_cidrs=tuple(f"10.{i}.0.0/16" for i in range(256)) * 4))
