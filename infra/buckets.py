"""The controls every bucket of the stack gets, in one place: public access blocked, objects
owned by the bucket owner (no ACLs), SSE-S3 encryption with a bucket key, and a policy that
refuses any request not made over TLS. Used by the code bundle bucket and the landing bucket;
each keeps its own lifecycle and extra grants.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


def tls_only_policy(bucket_arn: str | None) -> str:
    """Deny every request to the bucket and its objects that is not made over TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],  # None only under test mocks
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        },
        sort_keys=True,
    )


@dataclass(frozen=True)
class BucketControls:
    """What later resources wait for: the public access block and default encryption."""

    public_access_block: aws.s3.BucketPublicAccessBlock
    encryption: aws.s3.BucketServerSideEncryptionConfiguration


def lock_down(name: str, bucket: aws.s3.Bucket, parent: pulumi.Resource) -> BucketControls:
    """Public access block, bucket-owner ownership, SSE-S3 and the TLS-only policy for
    ``bucket``; resource names ``{name}-public-access``, ``-ownership``, ``-encryption``,
    ``-tls-only`` (children of ``parent``)."""
    child = pulumi.ResourceOptions(parent=parent)
    block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=child,
    )
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                ),
                bucket_key_enabled=True,
            )
        ],
        opts=child,
    )
    aws.s3.BucketPolicy(
        f"{name}-tls-only",
        bucket=bucket.id,
        policy=bucket.arn.apply(tls_only_policy),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[block]),
    )
    return BucketControls(public_access_block=block, encryption=encryption)
