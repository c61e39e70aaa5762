"""The SSM mode of the daily-metrics workflow against moto: scripts/ci/daily-metrics-ssm.sh and
scripts/ci/ssm_run.py run as subprocesses, as in GitHub Actions, with AWS_ENDPOINT_URL pointing
at a moto server in this process (so a test can decide what the "host" answers).

The parameters sent are checked against the stack's real SSM document (infra/commands.py, read
as source: no Pulumi needed), so a renamed parameter or a narrower pattern fails here.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from moto.ssm import models as ssm_models

ROOT = Path(__file__).resolve().parents[2]
CI_DIR = ROOT / "scripts" / "ci"
REGION = "us-east-1"
DOCUMENT = "revops-prod-metrics"


def stack_document() -> dict[str, Any]:
    """The `content` dict literal of infra.commands.document_content()."""
    tree = ast.parse((ROOT / "infra" / "commands.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "document_content":
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign | ast.Assign) and isinstance(
                    stmt.value, ast.Dict
                ):
                    value = ast.literal_eval(stmt.value)
                    assert isinstance(value, dict)
                    return value
    raise AssertionError("infra/commands.py: document_content() has no content dict literal")


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def account(moto_url: str) -> dict[str, Any]:
    """The moto account: the stack's document and one instance (made once: EC2 is slow)."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))  # noqa: S310
    kwargs: dict[str, Any] = {
        "region_name": REGION,
        "endpoint_url": moto_url,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    ssm = boto3.client("ssm", **kwargs)
    ec2 = boto3.client("ec2", **kwargs)
    image_id = ec2.describe_images()["Images"][0]["ImageId"]
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "revops:stack", "Value": "prod"}]}]
    instance_id = ec2.run_instances(
        ImageId=image_id, MinCount=1, MaxCount=1, TagSpecifications=tags
    )["Instances"][0]["InstanceId"]
    ssm.create_document(
        Content=json.dumps(stack_document()),
        Name=DOCUMENT,
        DocumentType="Command",
        DocumentFormat="JSON",
    )
    return {"url": moto_url, "ssm": ssm, "instance_id": instance_id}


@pytest.fixture
def aws(account: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The step's environment; commands sent before this test are left out of `commands()`."""
    summary = tmp_path / "step_summary.md"
    summary.write_text("")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in ("BACKFILL_DAYS", "RUN_DATE")
    }
    env.update(
        {
            "AWS_ENDPOINT_URL": account["url"],
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "SSM_DOCUMENT": DOCUMENT,
            "SSM_INSTANCE_ID": account["instance_id"],
            "SSM_POLL_S": "0.05",
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_RUN_ID": "4242",
            "REVOPS_PYTHON": sys.executable,
        }
    )
    seen = {c["CommandId"] for c in account["ssm"].list_commands()["Commands"]}
    return {**account, "env": env, "summary": summary, "seen": seen}


def host_answers(
    monkeypatch: pytest.MonkeyPatch, status: str, stdout: str = "", stderr: str = ""
) -> None:
    """Make the moto server's invocations end with this status and output."""
    original = ssm_models.Command.invocation_response

    def invocation_response(self: Any, instance_id: str, plugin_name: str) -> dict[str, Any]:
        response = original(self, instance_id, plugin_name)
        response.update(
            Status=status,
            StatusDetails=status,
            ResponseCode=0 if status == "Success" else 1,
            StandardOutputContent=stdout,
            StandardErrorContent=stderr,
        )
        return response

    monkeypatch.setattr(ssm_models.Command, "invocation_response", invocation_response)


def ssm_script(aws: dict[str, Any], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(CI_DIR / "daily-metrics-ssm.sh")],
        env={**aws["env"], **extra},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ssm_status(aws: dict[str, Any], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CI_DIR / "ssm_run.py"), "status"],
        env={**aws["env"], **extra},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def commands(aws: dict[str, Any]) -> list[dict[str, Any]]:
    """The commands this test sent."""
    sent = aws["ssm"].list_commands()["Commands"]
    return [c for c in sent if c["CommandId"] not in aws["seen"]]


def assert_valid_for_the_stack_document(parameters: dict[str, list[str]]) -> None:
    declared = stack_document()["parameters"]
    assert set(parameters) <= set(declared), f"{parameters} vs {sorted(declared)}"
    for name, [value] in parameters.items():
        spec = declared[name]
        if "allowedValues" in spec:
            assert value in spec["allowedValues"], (name, value)
        if "allowedPattern" in spec:
            assert re.fullmatch(spec["allowedPattern"], value), (name, value)


def test_daily_run_sends_the_stack_document_to_the_instance(aws: dict[str, Any]) -> None:
    proc = ssm_script(aws, BACKFILL_DAYS="0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [command] = commands(aws)
    assert command["DocumentName"] == DOCUMENT
    assert command["InstanceIds"] == [aws["instance_id"]]
    assert command["Parameters"] == {"action": ["run"], "trigger": ["github"]}
    assert "4242" in command["Comment"]
    assert_valid_for_the_stack_document(command["Parameters"])
    assert f"sending SSM document {DOCUMENT} (run) to {aws['instance_id']}" in proc.stdout
    assert "## ✅ Daily metrics run (ssm): Success" in aws["summary"].read_text()


def test_empty_backfill_days_is_the_daily_run(aws: dict[str, Any]) -> None:
    proc = ssm_script(aws, BACKFILL_DAYS="")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [c["Parameters"] for c in commands(aws)] == [{"action": ["run"], "trigger": ["github"]}]


@pytest.mark.parametrize("days", ["1", "30", "3650"])
def test_backfill_sends_the_number_of_days(aws: dict[str, Any], days: str) -> None:
    proc = ssm_script(aws, BACKFILL_DAYS=days)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [command] = commands(aws)
    assert command["Parameters"] == {"action": ["backfill"], "backfillDays": [days]}
    assert_valid_for_the_stack_document(command["Parameters"])
    assert f"Backfill of the last {days} day(s) (ssm): Success" in aws["summary"].read_text()


def test_a_failed_invocation_fails_the_script_and_shows_the_host_output(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    host_answers(
        monkeypatch,
        "Failed",
        stdout="[1/4] 2025-06-01: failed XX000: boom\n::set-env name=EVIL::1\n",
        stderr="revops-ssm-run: revops-metrics.service failed (exit 1)\n",
    )
    proc = ssm_script(aws, BACKFILL_DAYS="0")
    assert proc.returncode == 1
    assert "[1/4] 2025-06-01: failed XX000: boom" in proc.stdout
    assert "revops-metrics.service failed (exit 1)" in proc.stderr
    assert "the SSM invocation ended Failed" in proc.stdout
    # the host's output cannot issue workflow commands: they are stopped around it
    match = re.search(r"^::stop-commands::(\w+)$", proc.stdout, re.MULTILINE)
    assert match
    inside = proc.stdout.split(match.group(0))[1].split(f"::{match.group(1)}::")[0]
    assert "::set-env name=EVIL::1" in inside
    assert "## ❌ Daily metrics run (ssm): Failed" in aws["summary"].read_text()


@pytest.mark.parametrize("status", ["TimedOut", "Cancelled", "Undeliverable"])
def test_any_other_final_status_fails(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, status: str
) -> None:
    host_answers(monkeypatch, status)
    proc = ssm_script(aws, BACKFILL_DAYS="5")
    assert proc.returncode == 1
    assert f"ended {status}" in proc.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"BACKFILL_DAYS": "1; rm -rf /"}, "backfill_days must be a whole number"),
        ({"BACKFILL_DAYS": "-1"}, "backfill_days must be a whole number"),
        ({"BACKFILL_DAYS": "3651"}, "backfill_days must be at most 3650"),
        ({"RUN_DATE": "2025-06-01"}, "date is not supported in ssm mode"),
        ({"SSM_DOCUMENT": ""}, "SSM_DOCUMENT and SSM_STACK (or SSM_INSTANCE_ID) must be set"),
        ({"SSM_INSTANCE_ID": ""}, "SSM_DOCUMENT and SSM_STACK (or SSM_INSTANCE_ID) must be set"),
    ],
)
def test_bad_input_sends_nothing(aws: dict[str, Any], extra: dict[str, str], message: str) -> None:
    proc = ssm_script(aws, **extra)
    assert proc.returncode == 2
    assert message in proc.stdout + proc.stderr
    assert commands(aws) == []


def test_helper_validates_days_on_its_own(aws: dict[str, Any]) -> None:
    proc = subprocess.run(
        [sys.executable, str(CI_DIR / "ssm_run.py"), "run", "--days", "12a"],
        env=aws["env"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "backfill_days must be a whole number" in proc.stdout
    assert commands(aws) == []


def test_unreachable_ssm_fails(aws: dict[str, Any]) -> None:
    env = {**aws["env"], "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}
    proc = subprocess.run(
        ["bash", str(CI_DIR / "daily-metrics-ssm.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "ssm send-command" in proc.stdout
    assert "not run" in aws["summary"].read_text()


def status_json(*, fresh: bool, last: str | None, lag: int | None) -> str:
    return json.dumps(
        {
            "business_timezone": "America/New_York",
            "business_today": "2026-03-10",
            "fresh": fresh,
            "lag_days": lag,
            "last_successful_day": last,
            "max_lag_days": 2,
            "tables": [{"table_name": "run_log", "last_metric_date": last, "lag_days": lag}],
            "recent_runs": [],
        },
        indent=2,
    )


def test_status_on_the_host_fresh(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    host_answers(monkeypatch, "Success", stdout=status_json(fresh=True, last="2026-03-09", lag=0))
    proc = ssm_status(aws)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [command] = commands(aws)
    assert command["Parameters"] == {"action": ["status"]}
    assert "## ✅ Metrics are fresh" in aws["summary"].read_text()


def test_status_on_the_host_stale_fails(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `revops status --json` exits 3 when stale, so the invocation itself is Failed.
    host_answers(
        monkeypatch,
        "Failed",
        stdout="some journal line\n" + status_json(fresh=False, last="2026-03-01", lag=8),
    )
    proc = ssm_status(aws)
    assert proc.returncode == 3
    assert "::error title=Metrics are stale::newest successful day 2026-03-01" in proc.stdout
    text = aws["summary"].read_text()
    assert "## ❌ Metrics are STALE" in text
    assert "| lag | 8 day(s) behind yesterday |" in text


def test_status_without_a_report_fails(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    host_answers(monkeypatch, "Failed", stderr="revops-ssm-run: unknown action 'status'\n")
    proc = ssm_status(aws)
    assert proc.returncode == 1
    assert "without a status report" in proc.stdout
    assert "unknown action 'status'" in proc.stderr


def test_the_host_is_found_by_its_stack_tag(aws: dict[str, Any]) -> None:
    """METRICS_STACK: the instance id is read at run time, so a replaced host is found."""
    proc = ssm_script(
        aws, BACKFILL_DAYS="0", SSM_STACK="prod", SSM_INSTANCE_ID="i-0stale0000000000"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [command] = commands(aws)
    assert command["InstanceIds"] == [aws["instance_id"]]
    assert f"tagged revops:stack=prod is {aws['instance_id']}" in proc.stdout


def test_no_tagged_host_sends_nothing(aws: dict[str, Any]) -> None:
    proc = ssm_script(aws, BACKFILL_DAYS="0", SSM_STACK="nope")
    assert proc.returncode == 1
    assert "no running EC2 instance is tagged revops:stack=nope" in proc.stdout
    assert commands(aws) == []


def test_timeouts_cover_the_longest_backfill() -> None:
    """GitHub job >= poll, role session >= poll, host side >= poll: a 5 h 45 min backfill fits."""
    import yaml

    sys.path.insert(0, str(CI_DIR))
    import ssm_run

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "daily-metrics.yml").read_text())
    job = workflow["jobs"]["ssm"]
    [configure] = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    session = int(configure["with"]["role-duration-seconds"])
    poll = ssm_run.BACKFILL_TIMEOUT_S
    assert job["timeout-minutes"] * 60 > poll
    assert session >= job["timeout-minutes"] * 60
    from infra.github import MAX_SESSION_S

    assert session <= MAX_SESSION_S
    step = stack_document()["mainSteps"][0]
    assert int(step["inputs"]["timeoutSeconds"]) >= poll
    unit = (ROOT / "runner" / "systemd" / "revops-backfill@.service").read_text()
    assert "TimeoutStartSec=6h" in unit
    assert poll <= 6 * 3600


def test_status_is_published_to_cloudwatch(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With METRICS_STACK the workflow publishes the host's freshness (the Stale alarm's input)."""
    import datetime as dt

    host_answers(monkeypatch, "Failed", stdout=status_json(fresh=False, last="2026-03-01", lag=8))
    proc = ssm_status(aws, SSM_STACK="prod", SSM_INSTANCE_ID="")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    cloudwatch = boto3.client(
        "cloudwatch",
        region_name=REGION,
        endpoint_url=aws["url"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    now = dt.datetime.now(dt.UTC)
    stats = cloudwatch.get_metric_statistics(
        Namespace="RevOps/Metrics",
        MetricName="FreshnessLagDays",
        Dimensions=[{"Name": "Stack", "Value": "prod"}],
        StartTime=now - dt.timedelta(hours=1),
        EndTime=now + dt.timedelta(hours=1),
        Period=3600,
        Statistics=["Maximum"],
    )
    assert [p["Maximum"] for p in stats["Datapoints"]] == [8.0]
