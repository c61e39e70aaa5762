"""Landing bucket: where CRM exports arrive (`incoming/`) on their way into `revops ingest`.

A private bucket per stack: SSE-S3 encryption, versioning (an overwritten or deleted export can
be recovered, and a loader can record the exact version it read), public access blocked, bucket
owner enforced, TLS only. Lifecycle: processed exports (moved under `processed/`, or tagged
`revops:ingest=processed` where they are) expire after `landing_processed_retention_days`
(default 90); replaced versions after 30 days; unfinished multipart uploads after 7 days.
Nothing under `incoming/` expires: an export no one loaded is never silently dropped.

The uploader policy (stack output `landing_uploader_policy_arn`) lets whoever holds it (a person,
a Salesforce export job, a GitHub workflow role) put objects under `incoming/` and nothing
else: no reading, listing, deleting, nor any other prefix. Attach it to that identity.

Loading from here: `revops ingest s3://<bucket>/incoming/` (revops.ingest.s3), which the
host's daily run calls before it computes, tags what it loaded `revops:ingest=processed`; the
host role's grant on `incoming/` is in infra/identity.py. docs/DEPLOY.md shows the export
commands.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.buckets import lock_down
from infra.settings import Settings

INCOMING = "incoming/"
PROCESSED = "processed/"
PROCESSED_TAG = ("revops:ingest", "processed")


def uploader_policy(bucket_arn: str) -> str:
    """PutObject under incoming/ (and abort its own multipart uploads): nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "UploadCrmExportsToIncoming",
                    "Effect": "Allow",
                    "Action": ["s3:AbortMultipartUpload", "s3:PutObject"],
                    "Resource": [f"{bucket_arn}/{INCOMING}*"],
                }
            ],
        },
        sort_keys=True,
    )


class LandingBucket(pulumi.ComponentResource):
    """The landing bucket, its controls and lifecycle, and the uploader policy."""

    bucket: aws.s3.Bucket
    uploader: aws.iam.Policy

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("revops:infra:LandingBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = {"revops:stack": settings.stack}
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=settings.bucket_prefix("landing"),
            # Holds the only copy of exports not loaded yet: `destroy` fails while it has any.
            force_destroy=False,
            tags=tags,
            opts=child,
        )
        lock_down(name, self.bucket, self)
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        days = settings.landing_processed_retention_days
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-processed-exports",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=PROCESSED),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-exports-tagged-processed",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(
                        tag=aws.s3.BucketLifecycleConfigurationRuleFilterTagArgs(
                            key=PROCESSED_TAG[0], value=PROCESSED_TAG[1]
                        )
                    ),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-old-versions-and-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=30
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        self.uploader = aws.iam.Policy(
            f"{name}-uploader",
            name_prefix=f"{settings.name}-landing-upload-"[:100],
            description=f"RevOps {settings.stack}: upload CRM exports to the landing bucket's "
            f"{INCOMING} prefix, nothing else",
            policy=self.bucket.arn.apply(lambda arn: uploader_policy(str(arn))),
            tags=tags,
            opts=child,
        )
        self.register_outputs({"bucket": self.bucket.id, "uploader_policy": self.uploader.arn})

    @property
    def incoming_uri(self) -> pulumi.Output[str]:
        return pulumi.Output.from_input(self.bucket.id).apply(lambda b: f"s3://{b}/{INCOMING}")
