"""GitHub access (optional, on when `github_repository` is set): an OIDC role for Actions.

Trust: tokens from GitHub's OIDC provider whose `aud` is `sts.amazonaws.com` and whose `sub` is
exactly `repo:<owner>/<name>:ref:refs/heads/<branch>` (StringEquals, no wildcard): only workflow
runs on that branch of that repository. Allowed: `ssm:SendCommand` of this stack's document on
this stack's instance only, and reading that command's result (`ssm:GetCommandInvocation`,
`ssm:ListCommandInvocations`, which have no resource-level permissions). No wildcard action.

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


def run_policy(document_arn: str, instance_arn: str) -> str:
    """SendCommand of one document on one instance, and reading its result."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SendMetricsDocumentToHost",
                    "Effect": "Allow",
                    "Action": ["ssm:SendCommand"],
                    "Resource": [document_arn, instance_arn],
                },
                {
                    "Sid": "ReadCommandResult",
                    "Effect": "Allow",
                    "Action": ["ssm:GetCommandInvocation", "ssm:ListCommandInvocations"],
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
            max_session_duration=3600,
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
                lambda values: run_policy(values[0], values[1])
            ),
            opts=child,
        )
        self.register_outputs({"role_arn": self.role.arn})
