"""Operations: the SSM Command document that runs the metrics on the host.

GitHub Actions (OIDC role) and people send this document instead of a free shell command, so
the role needs no `AWS-RunShellScript`: the document can only start the hardened units, with its
parameters checked by SSM (`allowedValues`, `allowedPattern`) before anything runs, and again by
/usr/local/sbin/revops-ssm-run on the host.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.settings import Settings


def document_content() -> str:
    """SSM document (schema 2.2): action run|backfill|status, backfillDays digits only, trigger
    github|manual (action=run starts revops-metrics@<trigger>.service)."""
    content: dict[str, Any] = {
        "schemaVersion": "2.2",
        "description": "Run the RevOps daily metrics (or a backfill) through the host's "
        "hardened systemd units and print the run's journal.",
        "parameters": {
            "action": {
                "type": "String",
                "description": "run: yesterday plus lookback; backfill: the last backfillDays"
                " days; status: revops status --json (freshness)",
                "allowedValues": ["run", "backfill", "status"],
                "default": "run",
            },
            "trigger": {
                "type": "String",
                "description": "who asked for action=run, recorded in metrics.run_log",
                "allowedValues": ["github", "manual"],
                "default": "manual",
            },
            "backfillDays": {
                "type": "String",
                "description": "number of days for action=backfill (1-9999)",
                "allowedPattern": "^[1-9][0-9]{0,3}$",
                "default": "1",
            },
        },
        "mainSteps": [
            {
                "action": "aws:runShellScript",
                "name": "revopsMetrics",
                "precondition": {"StringEquals": ["platformType", "Linux"]},
                "inputs": {
                    "timeoutSeconds": "21600",
                    "runCommand": [
                        "/usr/local/sbin/revops-ssm-run '{{ action }}' '{{ backfillDays }}' '{{ trigger }}'"
                    ],
                },
            }
        ],
    }
    return json.dumps(content, indent=2, sort_keys=True)


class MetricsCommand(pulumi.ComponentResource):
    """The custom SSM document of this stack."""

    document: aws.ssm.Document

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("revops:infra:MetricsCommand", name, None, opts)
        self.document = aws.ssm.Document(
            f"{name}-document",
            name=f"{settings.name}-metrics",
            document_type="Command",
            document_format="JSON",
            target_type="/AWS::EC2::Instance",
            content=document_content(),
            tags={"revops:stack": settings.stack},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"document_name": self.document.name})
