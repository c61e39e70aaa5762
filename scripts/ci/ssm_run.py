#!/usr/bin/env python3
"""The SSM mode of the daily-metrics workflow: run the metrics on the host, not from GitHub.

    ssm_run.py run [--days N]   send the stack's SSM document: action=run (yesterday plus the
                                lookback), or action=backfill with backfillDays=N when N > 0
    ssm_run.py status           send action=status and check the host's `revops status --json`

Environment: SSM_DOCUMENT (the stack output `ssm_document_name`) and the host: SSM_STACK (the
stack output `stack`: the running instance tagged `revops:stack=<stack>`, looked up at run time,
so a replaced host is found) or, older, SSM_INSTANCE_ID (a fixed id that goes stale when the host
is replaced); AWS credentials and region (aws-actions/configure-aws-credentials with the stack's
OIDC role `github_role_arn`), optional SSM_TIMEOUT_S. PostgreSQL is never reachable
from GitHub in this mode: the host runs its own hardened systemd units.

Prints the host's output, writes a summary to $GITHUB_STEP_SUMMARY, and exits 0 when the
invocation succeeded, 1 when it failed (or could not be sent or did not finish), 2 on bad input,
3 when `status` reports stale metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Sequence
from typing import Any

import ci_summary

from revops import aws

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_BACKFILL_DAYS = 3650
RUN_TIMEOUT_S = 1800
# 5 h 45 min: inside GitHub's 6 h job limit (timeout-minutes: 360) and the 6 h session of the
# stack's GitHub role (role-duration-seconds / max_session_duration 21600); the host's backfill
# unit and the SSM document allow 6 h. tests/unit/test_ssm_mode.py keeps these in step.
BACKFILL_TIMEOUT_S = 20700
STACK_TAG = "revops:stack"


def fail(message: str, code: int = EXIT_FAILED) -> int:
    ci_summary.annotate("error", "revops metrics (ssm)", message)
    return code


def print_host_output(stdout: str, stderr: str) -> None:
    """The host's output, with GitHub workflow commands switched off around it."""
    token = uuid.uuid4().hex
    print(f"::stop-commands::{token}", flush=True)
    try:
        if stdout:
            print(stdout.rstrip("\n"), flush=True)
        if stderr:
            print(stderr.rstrip("\n"), file=sys.stderr, flush=True)
    finally:
        print(f"::{token}::", flush=True)


def parse_days(raw: str) -> int:
    if raw == "":
        return 0
    if not raw.isascii() or not raw.isdigit() or len(raw) > 4 or int(raw) > MAX_BACKFILL_DAYS:
        raise ValueError(
            f"backfill_days must be a whole number from 0 to {MAX_BACKFILL_DAYS} "
            f"(0 = the normal daily run), got {raw[:60]!r}"
        )
    return int(raw)


def send(action: str, parameters: dict[str, list[str]], timeout_s: int) -> tuple[str, str, str]:
    document = os.environ.get("SSM_DOCUMENT", "")
    stack = os.environ.get("SSM_STACK", "")
    instance = os.environ.get("SSM_INSTANCE_ID", "")
    if not document or not (stack or instance):
        raise ValueError(
            "SSM_DOCUMENT and SSM_STACK (or SSM_INSTANCE_ID) must be set (repository variables "
            "METRICS_SSM_DOCUMENT and METRICS_STACK, from the Pulumi stack outputs)"
        )
    if stack:
        instance = aws.resolve_tagged_instance(STACK_TAG, stack)
        print(f"host: the running instance tagged {STACK_TAG}={stack} is {instance}", flush=True)
    os.environ["SSM_INSTANCE_ID"] = instance  # for the summary
    print(f"sending SSM document {document} ({action}) to {instance}", flush=True)
    return aws.send_metrics_command(
        document,
        instance,
        parameters,
        timeout_s=timeout_s,
        poll_s=float(os.environ.get("SSM_POLL_S", "10")),
        comment=f"revops {action} from GitHub Actions run {os.environ.get('GITHUB_RUN_ID', '-')}",
    )


def timeout_for(days: int) -> int:
    raw = os.environ.get("SSM_TIMEOUT_S", "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return BACKFILL_TIMEOUT_S if days else RUN_TIMEOUT_S


def cmd_run(days: int) -> int:
    if days:
        action, title = "backfill", f"Backfill of the last {days} day(s)"
        parameters = {"action": ["backfill"], "backfillDays": [str(days)]}
    else:
        action, title = "run", "Daily metrics run"
        # Logged in metrics.run_log as trigger github (revops-metrics@github.service).
        parameters = {"action": ["run"], "trigger": ["github"]}
    try:
        status, stdout, stderr = send(action, parameters, timeout_for(days))
    except ValueError as exc:
        return fail(str(exc), EXIT_USAGE)
    except aws.AwsError as exc:
        ci_summary.append_summary([f"## ❌ {title} (ssm): not run", "", ci_summary.cell(exc)])
        return fail(f"{title}: {exc}")
    print_host_output(stdout, stderr)
    ok = status == "Success"
    icon = "✅" if ok else "❌"
    where = f"`{os.environ['SSM_DOCUMENT']}` on `{os.environ['SSM_INSTANCE_ID']}`"
    ci_summary.append_summary(
        [
            f"## {icon} {title} (ssm): {status}",
            "",
            f"SSM document {where}; the host's output is in the job log.",
        ]
    )
    if not ok:
        return fail(f"{title}: the SSM invocation ended {status} (see the host's output above)")
    return EXIT_OK


def status_report(stdout: str) -> dict[str, Any] | None:
    """The `revops status --json` object in the host's output (the first line from '{')."""
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("{"):
            try:
                value = json.loads("\n".join(lines[index:]))
            except ValueError:
                continue
            if isinstance(value, dict) and "fresh" in value:
                return value
    return None


def cmd_status() -> int:
    try:
        status, stdout, stderr = send("status", {"action": ["status"]}, RUN_TIMEOUT_S)
    except ValueError as exc:
        return fail(str(exc), EXIT_USAGE)
    except aws.AwsError as exc:
        if "InvalidParameters" in str(exc):
            # The stack's document predates action=status: say so loudly, but the run step's
            # own result (a successful run includes yesterday) stands.
            ci_summary.append_summary(
                [
                    "## ⚠️ Metrics freshness not checked on the host",
                    "",
                    "The stack's SSM document does not accept `action=status`; update the stack.",
                ]
            )
            ci_summary.annotate(
                "warning",
                "revops metrics (ssm)",
                "freshness not checked: the SSM document has no status action",
            )
            return EXIT_OK
        return fail(f"freshness check: {exc}")
    report = status_report(stdout)
    if report is None:
        print_host_output(stdout, stderr)
        return fail(f"freshness check: the SSM invocation ended {status} without a status report")
    publish_freshness(report)
    return ci_summary.check_freshness(report)


def publish_freshness(report: dict[str, Any]) -> None:
    """The host's freshness, as GitHub saw it, to CloudWatch (the stack's Stale alarm).

    Best effort: the host's own units publish after every run; this adds GitHub's view, so a
    host whose publishing broke is still watched. Needs SSM_STACK (the metric's dimension).
    """
    stack = os.environ.get("SSM_STACK", "")
    if not stack:
        return
    from revops import cloudwatch

    try:
        cloudwatch.publish(cloudwatch.status_datums(report), stack)
    except aws.AwsError as exc:
        ci_summary.annotate("warning", "revops metrics (ssm)", f"freshness not published: {exc}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ssm_run.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the metrics (or a backfill) on the host")
    run.add_argument("--days", default=os.environ.get("BACKFILL_DAYS", ""))
    sub.add_parser("status", help="check freshness on the host")
    args = parser.parse_args(argv)
    if args.command == "status":
        return cmd_status()
    try:
        days = parse_days(args.days)
    except ValueError as exc:
        return fail(str(exc), EXIT_USAGE)
    return cmd_run(days)


if __name__ == "__main__":
    sys.exit(main())
