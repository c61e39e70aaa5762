"""Backups (issue 15, section 3): daily DLM snapshots of the data volume, and restore by config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from infra.settings import SettingsError, load_settings
from pulumi_harness import REGION, Program, run_program

DLM = "aws:dlm/lifecyclePolicy:LifecyclePolicy"
VOLUME = "aws:ebs/volume:Volume"


def test_daily_snapshots_of_the_data_volume(default_program: Program) -> None:
    (policy,) = default_program.of_type(DLM)
    (volume,) = default_program.of_type(VOLUME)
    details = policy.inputs["policyDetails"]
    assert details["resourceTypes"] == ["VOLUME"]
    # The policy's target is exactly the data volume's backup tag.
    assert details["targetTags"] == {"revops:backup": "revops-test"}
    assert volume.inputs["tags"]["revops:backup"] == "revops-test"
    (schedule,) = details["schedules"]
    assert schedule["createRule"] == {"interval": 24, "intervalUnit": "HOURS", "times": "03:00"}
    assert schedule["retainRule"] == {"count": 7}
    assert schedule["copyTags"] is True
    assert policy.inputs["state"] == "ENABLED"


def test_dlm_role_is_scoped(default_program: Program) -> None:
    [role] = [r for r in default_program.of_type("aws:iam/role:Role") if "backup" in r.name]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "dlm.amazonaws.com"}
    [policy] = [
        p for p in default_program.of_type("aws:iam/rolePolicy:RolePolicy") if "backup" in p.name
    ]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    (volume,) = default_program.of_type(VOLUME)
    assert volume.outputs["arn"] in statements["SnapshotTheDataVolume"]["Resource"]
    assert statements["TagAndExpireSnapshots"]["Resource"] == [f"arn:aws:ec2:{REGION}::snapshot/*"]
    (dlm,) = default_program.of_type(DLM)
    assert dlm.inputs["executionRoleArn"] == role.outputs["arn"]


def test_retention_from_config_and_off(bundle_dir: Path) -> None:
    program = run_program(
        {"aws:region": REGION, "revops-metrics:snapshot_retention_days": "30"}, bundle_dir
    )
    (policy,) = program.of_type(DLM)
    assert policy.inputs["policyDetails"]["schedules"][0]["retainRule"] == {"count": 30}
    off = run_program(
        {"aws:region": REGION, "revops-metrics:snapshot_retention_days": "0"}, bundle_dir
    )
    assert off.of_type(DLM) == []
    assert [r for r in off.of_type("aws:iam/role:Role") if "backup" in r.name] == []


def test_restore_creates_the_data_volume_from_a_snapshot(bundle_dir: Path) -> None:
    program = run_program(
        {"aws:region": REGION, "revops-metrics:data_volume_snapshot_id": "snap-0123456789abcdef0"},
        bundle_dir,
    )
    (volume,) = program.of_type(VOLUME)
    assert volume.inputs["snapshotId"] == "snap-0123456789abcdef0"
    assert volume.inputs["encrypted"] is True
    (declared,) = program.declared_of_type(VOLUME)
    assert declared.opts.protect is True
    assert declared.opts.retain_on_delete is True
    user_data, _ = program.resolved["user_data"]
    assert volume.id in user_data  # the new instance looks for the restored volume


def test_default_volume_is_blank(default_program: Program) -> None:
    (volume,) = default_program.of_type(VOLUME)
    assert not volume.inputs.get("snapshotId")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("data_volume_snapshot_id", "vol-0123456789abcdef0", "not an EBS snapshot id"),
        ("snapshot_retention_days", "-1", "outside"),
        ("snapshot_retention_days", "1001", "outside"),
    ],
)
def test_backup_keys_are_validated(key: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({key: value}.get, stack="dev", region=REGION)
