"""GitHub access (optional, on when `github_repository` is set): an OIDC role for Actions.

Trust: tokens from GitHub's OIDC provider whose `aud` is `sts.amazonaws.com` and whose `sub` is
exactly `repo:<owner>/<name>:ref:refs/heads/<branch>` (StringEquals, no wildcard): only workflow
runs on that branch of that repository. Allowed: `ssm:SendCommand` of this stack's document, only
to instances tagged `revops:stack=<stack>` (the host, whichever instance it is after a
replacement), finding that instance (`ec2:DescribeInstances`), and reading the command's result
(`ssm:GetCommandInvocation`, `ssm:ListCommandInvocations`); those three have no resource-level
permissions. No wildcard action. Sessions last up to 6 h: a backfill may wait 5 h 45 min.

GitHub's OIDC provider exists once per AWS account: set `github_oidc_provider_arn` to reuse one.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.settings import Settings

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
# GitHub's published intermediate thumbprints; AWS no longer checks them for this provider
# (it trusts GitHub's CA directly) but the API still requires a value.
THUMBPRINTS = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
]


def trust_policy(provider_arn: str, repository: str, branch: str) -> str:
    """Web identity trust: this repository's branch only, audience sts.amazonaws.com."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "GitHubActionsOnBranch",
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                            f"{GITHUB_OIDC_HOST}:sub": f"repo:{repository}:ref:refs/heads/{branch}",
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


STACK_TAG = "revops:stack"
#: 6 h, the GitHub job's own limit (the workflow asks for role-duration-seconds 21600).
MAX_SESSION_S = 21600


def run_policy(document_arn: str, instance_arn: str, stack: str) -> str:
    """SendCommand of one document to the stack's tagged instances, and reading its result.

    `instance_arn` is any instance's ARN of the stack; its account/region prefix scopes the
    instance statement (instance/* with the stack's tag), so a replaced host stays allowed.
    """
    instances = instance_arn.rsplit("/", 1)[0] + "/*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SendMetricsDocument",
                    "Effect": "Allow",
                    "Action": ["ssm:SendCommand"],
                    "Resource": [document_arn],
                },
                {
                    "Sid": "SendToTheStacksHost",
                    "Effect": "Allow",
                    "Action": ["ssm:SendCommand"],
                    "Resource": [instances],
                    "Condition": {"StringEquals": {f"ssm:resourceTag/{STACK_TAG}": stack}},
                },
                {
                    # The freshness step publishes the host's status report (revops.cloudwatch).
                    "Sid": "PublishRunMetrics",
                    "Effect": "Allow",
                    "Action": ["cloudwatch:PutMetricData"],
                    "Resource": ["*"],
                    "Condition": {"StringEquals": {"cloudwatch:namespace": "RevOps/Metrics"}},
                },
                {
                    "Sid": "FindHostAndReadCommandResult",
                    "Effect": "Allow",
                    "Action": [
                        "ec2:DescribeInstances",
                        "ssm:GetCommandInvocation",
                        "ssm:ListCommandInvocations",
                    ],
                    "Resource": ["*"],
                },
            ],
        },
        sort_keys=True,
    )


class GitHubAccess(pulumi.ComponentResource):
    """OIDC provider (unless reused) and the role GitHub Actions assumes."""

    role: aws.iam.Role

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        document_arn: pulumi.Input[str],
        instance_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("revops:infra:GitHubAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if settings.github_repository is None:
            raise ValueError("GitHubAccess needs github_repository")
        repository = settings.github_repository
        provider_arn: pulumi.Input[str]
        if settings.github_oidc_provider_arn:
            provider_arn = settings.github_oidc_provider_arn
        else:
            provider_arn = aws.iam.OpenIdConnectProvider(
                f"{name}-oidc",
                url=GITHUB_OIDC_URL,
                client_id_lists=[AUDIENCE],
                thumbprint_lists=THUMBPRINTS,
                tags={"revops:stack": settings.stack},
                opts=child,
            ).arn
        self.role = aws.iam.Role(
            f"{name}-role",
            name_prefix=f"{settings.name}-github-"[:38],
            description=f"GitHub Actions of {repository}@{settings.github_branch}: "
            "run the RevOps metrics on the host through SSM",
            max_session_duration=MAX_SESSION_S,
            assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
                lambda arn: trust_policy(arn, repository, settings.github_branch)
            ),
            tags={"revops:stack": settings.stack},
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-run-metrics",
            role=self.role.id,
            policy=pulumi.Output.all(document_arn, instance_arn).apply(
                lambda values: run_policy(values[0], values[1], settings.stack)
            ),
            opts=child,
        )
        self.register_outputs({"role_arn": self.role.arn})
