"""The project's boto3 code: database secrets from Secrets Manager and metrics runs through SSM.

Grain: two small entry points used by the CLI (`get_secret_json`) and by the GitHub Actions SSM
mode (`send_metrics_command`). boto3 lives in the `aws` extra, so it is imported lazily inside the
functions: the core package works without it. boto3 picks its region, endpoint
(`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`, ...) and credentials the usual way.

Never put a secret value in an exception, a log line or a return value other than the secret
dict itself: error messages name the secret id and the missing keys only.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "DB_SECRET_FIELDS",
    "AwsError",
    "SecretFormatError",
    "get_secret_json",
    "resolve_tagged_instance",
    "send_metrics_command",
]

log = logging.getLogger(__name__)

#: Fields every database secret written by the Pulumi stack holds.
DB_SECRET_FIELDS: tuple[str, ...] = ("host", "port", "dbname", "username", "password")

#: SSM command statuses after which an invocation will not change any more.
_SSM_FINAL_STATUSES = frozenset(
    {"Success", "Failed", "Cancelled", "TimedOut", "Cancelling", "Undeliverable", "Terminated"}
)


class AwsError(RuntimeError):
    """An AWS call failed in a way the caller should report (never holds a secret value)."""


class SecretFormatError(AwsError):
    """The secret exists but is not a JSON object with the expected fields."""


def _boto3() -> Any:
    """Import boto3 on first use (it is in the optional `aws` extra)."""
    try:
        return importlib.import_module("boto3")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise AwsError(
            "boto3 is not installed: install the aws extra (pip install 'revops-metrics[aws]')"
        ) from exc


def _boto_errors() -> tuple[type[Exception], ...]:
    """The exception types a boto3 call raises (botocore's base error and ClientError)."""
    exceptions = importlib.import_module("botocore.exceptions")
    return (exceptions.BotoCoreError, exceptions.ClientError)


def _client(service: str, region: str | None) -> Any:
    """A boto3 client; region falls back to AWS_REGION, AWS_DEFAULT_REGION, then the profile.

    botocore itself reads only AWS_DEFAULT_REGION; AWS_REGION is what GitHub's
    configure-aws-credentials action and the host's unit environment set.
    """
    return _boto3().client(service, region_name=region or default_region())


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        error = response.get("Error")
        if isinstance(error, Mapping):
            return str(error.get("Code", ""))
    return ""


def get_secret_json(
    secret_id: str,
    *,
    region: str | None = None,
    required: Iterable[str] = DB_SECRET_FIELDS,
) -> dict[str, Any]:
    """Read a Secrets Manager secret whose SecretString is a JSON object.

    `required` lists keys that must be present and non-empty; by default the fields of a
    database secret (`DB_SECRET_FIELDS`), pass `()` for any JSON object. Raises `SecretFormatError` when the secret is not a JSON object or lacks a
    key, and `AwsError` when it cannot be read. Messages never include the secret's value.
    """
    if not secret_id:
        raise AwsError("no secret id given")
    client = _client("secretsmanager", region)
    try:
        response = client.get_secret_value(SecretId=secret_id)
    except _boto_errors() as exc:
        # Safe to quote: the call failed, so no secret value was received.
        raise AwsError(f"cannot read secret {secret_id!r} from Secrets Manager: {exc}") from None
    raw = response.get("SecretString")
    if not isinstance(raw, str):
        raise SecretFormatError(f"secret {secret_id!r} has no SecretString (binary secrets unused)")
    try:
        value = json.loads(raw)
    except ValueError:
        # `from None`: the decoder's message quotes part of the document, i.e. the secret.
        raise SecretFormatError(f"secret {secret_id!r} is not valid JSON") from None
    if not isinstance(value, dict):
        raise SecretFormatError(f"secret {secret_id!r} is JSON but not an object")
    missing = [key for key in required if value.get(key) in (None, "")]
    if missing:
        raise SecretFormatError(
            f"secret {secret_id!r} lacks field(s): {', '.join(sorted(missing))}"
        )
    return value


def send_metrics_command(
    document_name: str,
    instance_id: str,
    parameters: dict[str, list[str]],
    *,
    timeout_s: int = 1800,
    poll_s: float = 5.0,
    region: str | None = None,
    comment: str = "revops metrics run",
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, str, str]:
    """Run the stack's metrics SSM document on one instance and wait for the result.

    Returns `(status, stdout, stderr)` where status is the SSM invocation status (`Success`,
    `Failed`, `TimedOut`, ...). The SSM output is truncated by SSM at 24,000 characters. Raises
    `AwsError` when the command cannot be sent, or does not finish within `timeout_s` seconds.
    """
    client = _client("ssm", region)
    try:
        sent = client.send_command(
            DocumentName=document_name,
            InstanceIds=[instance_id],
            Parameters=parameters,
            TimeoutSeconds=max(30, int(timeout_s)),
            Comment=comment[:100],
        )
    except _boto_errors() as exc:
        raise AwsError(f"ssm send-command {document_name!r} to {instance_id}: {exc}") from None
    command_id = str(sent["Command"]["CommandId"])
    log.info("ssm command %s sent to %s", command_id, instance_id)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            result = client.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        except _boto_errors() as exc:
            # Right after SendCommand the invocation may not exist yet.
            if _error_code(exc) != "InvocationDoesNotExist":
                raise AwsError(f"ssm get-command-invocation {command_id}: {exc}") from None
            result = {"Status": "Pending"}
        status = str(result.get("Status", ""))
        if status in _SSM_FINAL_STATUSES:
            return (
                status,
                str(result.get("StandardOutputContent", "")),
                str(result.get("StandardErrorContent", "")),
            )
        if time.monotonic() >= deadline:
            raise AwsError(
                f"ssm command {command_id} on {instance_id} still {status or 'pending'} "
                f"after {timeout_s}s"
            )
        sleep(poll_s)


def resolve_tagged_instance(key: str, value: str, *, region: str | None = None) -> str:
    """The running EC2 instance tagged `key=value` (the stack's host: `revops:stack=<stack>`).

    Read at run time, so a replaced host is found without updating anything. When two are
    running (the minutes of a replacement), the one launched last is the new host. Raises
    `AwsError` when none is running.
    """
    client = _client("ec2", region)
    filters = [
        {"Name": f"tag:{key}", "Values": [value]},
        {"Name": "instance-state-name", "Values": ["running"]},
    ]
    try:
        pages = client.get_paginator("describe_instances").paginate(Filters=filters)
        instances = [
            instance
            for page in pages
            for reservation in page.get("Reservations", [])
            for instance in reservation.get("Instances", [])
        ]
    except _boto_errors() as exc:
        raise AwsError(f"ec2 describe-instances tag {key}={value}: {exc}") from None
    if not instances:
        raise AwsError(f"no running EC2 instance is tagged {key}={value}")
    newest = max(instances, key=lambda i: (i.get("LaunchTime") or 0, i["InstanceId"]))
    if len(instances) > 1:
        log.warning(
            "%d running instances tagged %s=%s; using the newest, %s",
            len(instances),
            key,
            value,
            newest["InstanceId"],
        )
    return str(newest["InstanceId"])


def default_region() -> str | None:
    """The region boto3 would use from the environment (None when unset)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
