"""Policy tests of `database: rds` (issue 16), and that `ec2` (the default) declares no RDS.

The program runs under Pulumi mocks with `database: rds`, once with the defaults and once with a
BI replica, Multi-AZ and an allowed CIDR. Every RDS instance, parameter group and security group
the program registers is checked, not only the ones it names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from infra.settings import SettingsError, load_settings
from pulumi_harness import REGION, SUBNETS, Program, run_program

RDS = "aws:rds/instance:Instance"
PARAMS = "aws:rds/parameterGroup:ParameterGroup"
SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
VOLUME = "aws:ebs/volume:Volume"
KMS = "aws:kms/key:Key"
RDS_CONFIG = {"aws:region": REGION, "revops-metrics:database": "rds"}
FULL_CONFIG = {
    **RDS_CONFIG,
    "revops-metrics:rds_engine_major": "18",
    "revops-metrics:rds_backup_retention_days": "14",
    "revops-metrics:rds_multi_az": "true",
    "revops-metrics:bi_replica": "true",
    "revops-metrics:allowed_cidrs": "10.20.0.0/16",
}


@pytest.fixture(scope="module")
def rds_program(bundle_dir: Path) -> Program:
    return run_program(RDS_CONFIG, bundle_dir)


@pytest.fixture(scope="module")
def full_program(bundle_dir: Path) -> Program:
    return run_program(FULL_CONFIG, bundle_dir)


def _primary(program: Program) -> Any:
    (primary,) = [r for r in program.of_type(RDS) if not r.inputs.get("replicateSourceDb")]
    return primary


def _db_group(program: Program) -> Any:
    (group_id,) = _primary(program).inputs["vpcSecurityGroupIds"]
    (group,) = [g for g in program.of_type(SG) if g.id == group_id]
    return group


def _host_group_id(program: Program) -> str:
    (instance,) = program.of_type("aws:ec2/instance:Instance")
    (group_id,) = instance.inputs["vpcSecurityGroupIds"]
    return str(group_id)


def test_ec2_mode_declares_no_rds(default_program: Program) -> None:
    assert default_program.of_type(RDS) == []
    assert default_program.of_type(PARAMS) == []
    assert len(default_program.of_type(VOLUME)) == 1
    assert default_program.exports["database"] == "ec2"
    assert default_program.exports["db_endpoint"] is None


@pytest.mark.parametrize("name", ["rds_program", "full_program"])
def test_every_rds_instance_encrypted_private_protected(
    request: pytest.FixtureRequest, name: str
) -> None:
    program: Program = request.getfixturevalue(name)
    (key,) = program.of_type(KMS)
    assert key.inputs["enableKeyRotation"] is True
    for db in program.of_type(RDS):
        inputs = db.inputs
        assert inputs["storageEncrypted"] is True
        assert inputs["kmsKeyId"] == key.outputs["arn"]
        assert inputs["publiclyAccessible"] is False
        assert inputs["deletionProtection"] is True
        assert inputs["autoMinorVersionUpgrade"] is True
        assert "password" not in inputs, "the master password is RDS-managed"


def test_backups_final_snapshot_and_multi_az(rds_program: Program, full_program: Program) -> None:
    default, full = _primary(rds_program).inputs, _primary(full_program).inputs
    assert default["backupRetentionPeriod"] == 7
    assert full["backupRetentionPeriod"] == 14
    for inputs in (default, full):
        assert inputs["skipFinalSnapshot"] is False
        assert inputs["finalSnapshotIdentifier"]
        assert inputs["copyTagsToSnapshot"] is True
        assert inputs["manageMasterUserPassword"] is True
    assert default["multiAz"] is False and full["multiAz"] is True
    assert default["engineVersion"] == "17" and full["engineVersion"] == "18"
    (declared,) = [
        d for d in rds_program.declared_of_type(RDS) if not d.props.get("replicate_source_db")
    ]
    assert declared.opts.protect is True


@pytest.mark.parametrize("name", ["rds_program", "full_program"])
def test_parameter_group_forces_tls_and_scram(request: pytest.FixtureRequest, name: str) -> None:
    program: Program = request.getfixturevalue(name)
    (group,) = program.of_type(PARAMS)
    params = {p["name"]: p["value"] for p in group.inputs["parameters"]}
    assert params == {"rds.force_ssl": "1", "password_encryption": "scram-sha-256"}
    assert group.inputs["family"] == f"postgres{_primary(program).inputs['engineVersion']}"
    for db in program.of_type(RDS):
        assert db.inputs["parameterGroupName"] == group.outputs.get(
            "name", group.inputs.get("name")
        )


def test_subnet_group_spans_the_vpc_subnets(rds_program: Program) -> None:
    (group,) = rds_program.of_type(SUBNET_GROUP)
    assert sorted(group.inputs["subnetIds"]) == sorted(SUBNETS)
    assert _primary(rds_program).inputs["dbSubnetGroupName"] == group.outputs.get(
        "name", group.inputs.get("name")
    )


def test_database_security_group_admits_the_host_only(rds_program: Program) -> None:
    group = _db_group(rds_program)
    (rule,) = group.inputs["ingress"]
    assert (rule["fromPort"], rule["toPort"], rule["protocol"]) == (5432, 5432, "tcp")
    assert rule["securityGroups"] == [_host_group_id(rds_program)]
    assert not rule.get("cidrBlocks")
    assert group.inputs["egress"] == []


def test_configured_cidrs_are_added_and_nothing_else(full_program: Program) -> None:
    rules = _db_group(full_program).inputs["ingress"]
    assert [r.get("cidrBlocks") for r in rules if r.get("cidrBlocks")] == [["10.20.0.0/16"]]
    for rule in rules:
        assert "0.0.0.0/0" not in (rule.get("cidrBlocks") or [])
        assert (rule["fromPort"], rule["toPort"]) == (5432, 5432)


def test_host_in_rds_mode_has_no_data_volume_or_postgres_ingress(rds_program: Program) -> None:
    assert rds_program.of_type(VOLUME) == []
    assert rds_program.of_type("aws:dlm/lifecyclePolicy:LifecyclePolicy") == []
    (host_group,) = [g for g in rds_program.of_type(SG) if g.id == _host_group_id(rds_program)]
    assert host_group.inputs["ingress"] == []
    egress_5432 = [r for r in host_group.inputs["egress"] if r["fromPort"] == 5432]
    assert [r["cidrBlocks"] for r in egress_5432] == [["172.31.0.0/16"]]


def test_replica_and_outputs(rds_program: Program, full_program: Program) -> None:
    replicas = [r for r in full_program.of_type(RDS) if r.inputs.get("replicateSourceDb")]
    (replica,) = replicas
    assert replica.inputs["replicateSourceDb"] == _primary(full_program).inputs.get(
        "identifier", _primary(full_program).outputs.get("identifier")
    )
    assert full_program.exports["bi_replica_endpoint"] == replica.outputs.get("address")
    assert [r for r in rds_program.of_type(RDS) if r.inputs.get("replicateSourceDb")] == []
    assert rds_program.exports["bi_replica_endpoint"] is None
    assert rds_program.exports["database"] == "rds"
    assert rds_program.exports["data_volume_id"] is None
    assert rds_program.exports["db_endpoint"].endswith(".rds.amazonaws.com")
    assert rds_program.exports["db_master_secret_arn"].startswith("arn:aws:secretsmanager:")


@pytest.mark.parametrize("name", ["rds_program", "full_program"])
def test_no_secret_in_plain_outputs(request: pytest.FixtureRequest, name: str) -> None:
    program: Program = request.getfixturevalue(name)
    exports = json.dumps(program.exports, default=str).lower()
    assert "password" not in exports.replace("manage", "")
    for db in program.of_type(RDS):
        assert "password" not in db.inputs
        assert "masterPassword" not in db.inputs


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"database": "aurora"}, "database"),
        ({"database": "rds", "rds_engine_major": "15"}, "rds_engine_major"),
        ({"database": "rds", "rds_backup_retention_days": "0"}, "rds_backup_retention_days"),
        ({"database": "rds", "db_subnet_ids": "subnet-0aaaaaaaaaaaaaaa1"}, "two zones"),
    ],
)
def test_invalid_rds_settings_are_refused(config: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(config.get, stack="test", region=REGION)


def test_role_secrets_name_the_rds_endpoint_over_tls(rds_program: Program) -> None:
    endpoint = rds_program.exports["db_endpoint"]
    strings = [
        json.loads(value)
        for key, (value, _secret) in rds_program.resolved.items()
        if key.startswith("secret_string_input:")
    ]
    assert len(strings) == 4
    for value in strings:
        assert value["host"] == endpoint
        assert value["sslmode"] == "require"


def test_host_reads_the_master_secret_and_bootstraps_rds(rds_program: Program) -> None:
    master = rds_program.exports["db_master_secret_arn"]
    (policy,) = [
        p for p in rds_program.of_type("aws:iam/rolePolicy:RolePolicy") if "identity" in p.name
    ]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    readable = statements["ReadOwnDatabaseSecrets"]["Resource"]
    assert master in readable and len(readable) == 5
    user_data, _ = rds_program.resolved["user_data"]
    assert "REVOPS_DATABASE=rds" in user_data
    assert f"REVOPS_DB_HOST={rds_program.exports['db_endpoint']}" in user_data
    assert f"REVOPS_ADMIN_SECRET_ID='{master}'" in user_data
    assert "REVOPS_PG_MAJOR=17" in user_data
