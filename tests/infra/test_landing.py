"""Landing bucket (issue 15, section 1, infrastructure): versioned, lifecycle, uploader policy."""

from __future__ import annotations

import json

from pulumi_harness import Program

BUCKET = "aws:s3/bucket:Bucket"


def _landing(program: Program) -> str:
    [bucket] = [b for b in program.of_type(BUCKET) if "landing" in b.name]
    assert bucket.inputs["bucketPrefix"] == "revops-test-landing-"
    assert bucket.inputs["forceDestroy"] is False  # unloaded exports are never destroyed
    return bucket.id


def _for(program: Program, typ: str, bucket: str) -> dict[str, object]:
    [found] = [r.inputs for r in program.of_type(typ) if r.inputs.get("bucket") == bucket]
    return found


def test_landing_bucket_is_versioned(default_program: Program) -> None:
    bucket = _landing(default_program)
    versioning = _for(default_program, "aws:s3/bucketVersioning:BucketVersioning", bucket)
    assert versioning["versioningConfiguration"] == {"status": "Enabled"}


def test_lifecycle_expires_processed_exports_only(default_program: Program) -> None:
    bucket = _landing(default_program)
    lifecycle = _for(
        default_program, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket
    )
    rules = {r["id"]: r for r in lifecycle["rules"]}  # type: ignore[union-attr]
    assert rules["expire-processed-exports"]["filter"] == {"prefix": "processed/"}
    assert rules["expire-processed-exports"]["expiration"] == {"days": 90}
    tagged = rules["expire-exports-tagged-processed"]
    assert tagged["filter"] == {"tag": {"key": "revops:ingest", "value": "processed"}}
    old = rules["expire-old-versions-and-uploads"]
    assert old["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert old["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert "expiration" not in old  # current objects (incoming/) never expire
    for rule in rules.values():
        assert rule["status"] == "Enabled"
        assert rule["filter"].get("prefix") != "incoming/"


def test_uploader_may_only_put_under_incoming(default_program: Program) -> None:
    bucket = _landing(default_program)
    [policy] = [p for p in default_program.of_type("aws:iam/policy:Policy") if "landing" in p.name]
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == ["s3:AbortMultipartUpload", "s3:PutObject"]
    assert statement["Resource"] == [f"arn:aws:s3:::{bucket}/incoming/*"]
    exports = default_program.exports
    assert exports["landing_uploader_policy_arn"] == policy.outputs["arn"]
    assert exports["landing_bucket"] == bucket
    assert exports["landing_incoming_uri"] == f"s3://{bucket}/incoming/"
    # It is handed out, not attached to anything of the stack.
    attached = [
        a.inputs["policyArn"]
        for a in default_program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    ]
    assert policy.outputs["arn"] not in attached


def test_host_may_list_read_and_tag_incoming_only(default_program: Program) -> None:
    """`revops ingest s3://<landing>/incoming/` on the host: list, read, tag; no put, no delete."""
    bucket = _landing(default_program)
    arn = f"arn:aws:s3:::{bucket}"
    [policy] = [
        p for p in default_program.of_type("aws:iam/rolePolicy:RolePolicy") if "identity" in p.name
    ]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    listing = statements["ListLandingIncoming"]
    assert listing["Action"] == ["s3:ListBucket"]
    assert listing["Resource"] == [arn]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["incoming/*"]}}
    objects = statements["ReadAndTagLandingIncoming"]
    assert objects["Action"] == [
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
    ]
    assert objects["Resource"] == [f"{arn}/incoming/*"]
    # nothing else of the host's policy names the landing bucket
    others = [
        s for sid, s in statements.items() if sid not in {"ListLandingIncoming", objects["Sid"]}
    ]
    assert bucket not in json.dumps(others)
    for statement in statements.values():
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert not action.startswith(("s3:Delete", "s3:PutObjectAcl")), action
            assert action != "s3:PutObject", action


def test_host_env_names_the_landing_bucket(default_program: Program) -> None:
    bucket = _landing(default_program)
    user_data, _ = default_program.resolved["user_data"]
    assert f"REVOPS_LANDING_BUCKET={bucket}" in user_data
