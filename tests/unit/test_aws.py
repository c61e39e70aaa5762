"""revops.aws under moto: reading database secrets and running the metrics SSM document.

moto stands in for Secrets Manager and SSM in-process, so these run with no network and no
credentials. The subprocess test against a moto *server* lives in tests/infra/test_runner_secret.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from revops import aws

REGION = "us-east-1"
SECRET_VALUE = {
    "host": "127.0.0.1",
    "port": 5432,
    "dbname": "revops_metrics",
    "username": "revops_runner",
    "password": "s3cr3t-Value-That-Must-Not-Leak",
}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        yield


def _put(name: str, value: str) -> str:
    client = boto3.client("secretsmanager", region_name=REGION)
    return str(client.create_secret(Name=name, SecretString=value)["ARN"])


@pytest.mark.usefixtures("aws_env")
def test_reads_db_secret_by_arn_and_name() -> None:
    arn = _put("revops/test/runner", json.dumps(SECRET_VALUE))
    assert aws.get_secret_json(arn) == SECRET_VALUE
    assert aws.get_secret_json("revops/test/runner", region=REGION) == SECRET_VALUE


@pytest.mark.usefixtures("aws_env")
def test_not_json_is_a_clear_error_without_the_value() -> None:
    arn = _put("revops/test/bad", "password=" + SECRET_VALUE["password"])
    with pytest.raises(aws.SecretFormatError, match="not valid JSON") as info:
        aws.get_secret_json(arn)
    assert SECRET_VALUE["password"] not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


@pytest.mark.usefixtures("aws_env")
def test_json_that_is_not_an_object() -> None:
    arn = _put("revops/test/list", json.dumps([SECRET_VALUE["password"]]))
    with pytest.raises(aws.SecretFormatError, match="not an object") as info:
        aws.get_secret_json(arn)
    assert SECRET_VALUE["password"] not in str(info.value)


@pytest.mark.usefixtures("aws_env")
def test_missing_fields_are_named() -> None:
    partial = {"password": SECRET_VALUE["password"], "host": ""}
    arn = _put("revops/test/partial", json.dumps(partial))
    with pytest.raises(aws.SecretFormatError, match="dbname, host, port, username") as info:
        aws.get_secret_json(arn)
    assert SECRET_VALUE["password"] not in str(info.value)
    # A caller that wants any JSON object can say so.
    assert aws.get_secret_json(arn, required=()) == partial
    assert aws.get_secret_json(arn, required=("password",)) == partial


@pytest.mark.usefixtures("aws_env")
def test_missing_secret_is_an_aws_error() -> None:
    with pytest.raises(aws.AwsError, match=r"cannot read secret 'revops/none'"):
        aws.get_secret_json("revops/none")
    with pytest.raises(aws.AwsError, match="no secret id"):
        aws.get_secret_json("")


@pytest.mark.usefixtures("aws_env")
def test_binary_secret_is_rejected() -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name="revops/test/binary", SecretBinary=b"\x00\x01")
    with pytest.raises(aws.SecretFormatError, match="no SecretString"):
        aws.get_secret_json("revops/test/binary")


def _instance_id() -> str:
    ec2 = boto3.client("ec2", region_name=REGION)
    image_id = ec2.describe_images()["Images"][0]["ImageId"]
    reservation = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)
    return str(reservation["Instances"][0]["InstanceId"])


def _document(name: str) -> str:
    ssm = boto3.client("ssm", region_name=REGION)
    content: dict[str, Any] = {
        "schemaVersion": "2.2",
        "description": "test",
        "parameters": {"action": {"type": "String", "allowedValues": ["run", "backfill"]}},
        "mainSteps": [
            {
                "action": "aws:runShellScript",
                "name": "run",
                "inputs": {"runCommand": ["/usr/local/sbin/revops-ssm-run {{ action }}"]},
            }
        ],
    }
    ssm.create_document(
        Content=json.dumps(content), Name=name, DocumentType="Command", DocumentFormat="JSON"
    )
    return name


@pytest.mark.usefixtures("aws_env")
def test_send_metrics_command_waits_for_the_result() -> None:
    instance_id = _instance_id()
    document = _document("revops-test-metrics")
    status, stdout, stderr = aws.send_metrics_command(
        document, instance_id, {"action": ["run"]}, timeout_s=60, poll_s=0.01
    )
    assert status == "Success"
    assert isinstance(stdout, str)
    assert isinstance(stderr, str)
    ssm = boto3.client("ssm", region_name=REGION)
    commands = ssm.list_commands()["Commands"]
    assert [c["DocumentName"] for c in commands] == [document]
    assert commands[0]["Parameters"] == {"action": ["run"]}
    assert commands[0]["InstanceIds"] == [instance_id]


@pytest.mark.usefixtures("aws_env")
def test_send_metrics_command_polls_until_final(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pending/InProgress are polled (and a not-yet-visible invocation tolerated)."""
    instance_id = _instance_id()
    document = _document("revops-test-poll")
    real_client = aws._client
    answers: list[dict[str, Any] | Exception] = []

    class Client:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def send_command(self, **kwargs: Any) -> Any:
            return self.inner.send_command(**kwargs)

        def get_command_invocation(self, **kwargs: Any) -> Any:
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

    from botocore.exceptions import ClientError

    not_yet = ClientError(
        {"Error": {"Code": "InvocationDoesNotExist", "Message": "no"}}, "GetCommandInvocation"
    )
    answers.extend(
        [
            not_yet,
            {"Status": "Pending"},
            {"Status": "InProgress"},
            {"Status": "Failed", "StandardOutputContent": "out", "StandardErrorContent": "err"},
        ]
    )
    monkeypatch.setattr(
        aws, "_client", lambda service, region: Client(real_client(service, region))
    )
    sleeps: list[float] = []
    result = aws.send_metrics_command(
        document, instance_id, {"action": ["run"]}, poll_s=0.5, sleep=sleeps.append
    )
    assert result == ("Failed", "out", "err")
    assert sleeps == [0.5, 0.5, 0.5]


@pytest.mark.usefixtures("aws_env")
def test_send_metrics_command_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    class Client:
        def send_command(self, **kwargs: Any) -> Any:
            return {"Command": {"CommandId": "c-1"}}

        def get_command_invocation(self, **kwargs: Any) -> Any:
            return {"Status": "InProgress"}

    monkeypatch.setattr(aws, "_client", lambda service, region: Client())
    with pytest.raises(aws.AwsError, match="still InProgress after 0s"):
        aws.send_metrics_command("doc", "i-1", {}, timeout_s=0, sleep=lambda _s: None)


@pytest.mark.usefixtures("aws_env")
def test_send_metrics_command_denied_is_an_aws_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    class Client:
        def send_command(self, **kwargs: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}},
                "SendCommand",
            )

    monkeypatch.setattr(aws, "_client", lambda service, region: Client())
    with pytest.raises(aws.AwsError, match=r"send-command 'nope' to i-1: .*AccessDenied"):
        aws.send_metrics_command("nope", "i-1", {}, timeout_s=5, poll_s=0.01)


@pytest.mark.usefixtures("aws_env")
def test_resolve_tagged_instance_prefers_the_newest_running() -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    image_id = ec2.describe_images()["Images"][0]["ImageId"]
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "revops:stack", "Value": "prod"}]}]

    def launch() -> str:
        reservation = ec2.run_instances(
            ImageId=image_id, MinCount=1, MaxCount=1, TagSpecifications=tags
        )
        return str(reservation["Instances"][0]["InstanceId"])

    old = launch()
    assert aws.resolve_tagged_instance("revops:stack", "prod") == old
    new = launch()
    ec2.stop_instances(InstanceIds=[old])  # the replaced host: stopped before detaching
    assert aws.resolve_tagged_instance("revops:stack", "prod") == new
    with pytest.raises(aws.AwsError, match="no running EC2 instance is tagged revops:stack=qa"):
        aws.resolve_tagged_instance("revops:stack", "qa")
