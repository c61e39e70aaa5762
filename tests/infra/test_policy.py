"""Policy tests: each control of issue 4 / ARCHITECTURE section 9, on every resource of its kind.

The program runs under Pulumi mocks (tests/infra/conftest.py) with only `aws:region` set, then
with the optional features turned on. Every registered resource is checked, not just the ones
the program happens to name, so a new security group or policy cannot slip past.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pulumi_harness import (
    DEFAULT_VPC_CIDR,
    MOCK_PASSWORD_PREFIX,
    REGION,
    MinimalMocks,
    Program,
    run_program,
    unwrap_secret,
)

import cloudconfig
from toolpaths import system_tool

SG = "aws:ec2/securityGroup:SecurityGroup"
INSTANCE = "aws:ec2/instance:Instance"
VOLUME = "aws:ebs/volume:Volume"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
PASSWORD = "random:index/randomPassword:RandomPassword"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
SG_RULE_TYPES = (
    "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
)
SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
GITHUB_CONFIG = {
    "aws:region": REGION,
    "revops-metrics:github_repository": "acme/revops-metrics",
    "revops-metrics:github_branch": "main",
}


@pytest.fixture(scope="module")
def github_program(bundle_dir: Path) -> Program:
    return run_program(GITHUB_CONFIG, bundle_dir)


@pytest.fixture(scope="module")
def open_program(bundle_dir: Path) -> Program:
    """Remote access configured: two CIDRs (v4 and v6) and a security group."""
    return run_program(
        {
            "aws:region": REGION,
            "revops-metrics:allowed_cidrs": '["10.20.0.0/16", "2001:db8::/48"]',
            "revops-metrics:allowed_security_group_ids": "sg-0123456789abcdef0",
            "revops-metrics:business_timezone": "America/New_York",
            "revops-metrics:run_time": "07:15",
        },
        bundle_dir,
    )


def _all_programs(request: pytest.FixtureRequest) -> list[Program]:
    return [
        request.getfixturevalue("default_program"),
        request.getfixturevalue("github_program"),
        request.getfixturevalue("open_program"),
        request.getfixturevalue("rds_policy_program"),
    ]


@pytest.fixture(scope="module")
def rds_policy_program(bundle_dir: Path) -> Program:
    """`database: rds` with a BI replica and an allowed CIDR (tests/infra/test_rds.py has more)."""
    return run_program(
        {
            "aws:region": REGION,
            "revops-metrics:database": "rds",
            "revops-metrics:bi_replica": "true",
            "revops-metrics:allowed_cidrs": "10.20.0.0/16",
        },
        bundle_dir,
    )


def _statements(document: Any) -> list[dict[str, Any]]:
    doc = json.loads(document) if isinstance(document, str) else document
    statements = doc["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- security groups ------------------------------------------------------------------------


def _ingress_rules(program: Program) -> list[dict[str, Any]]:
    rules = [rule for sg in program.of_type(SG) for rule in sg.inputs.get("ingress", [])]
    for typ in SG_RULE_TYPES:
        for res in program.of_type(typ):
            if res.inputs.get("type", "ingress") == "ingress" and "Egress" not in typ:
                rules.append(res.inputs)
    return rules


def test_no_ingress_from_anywhere_and_no_ssh(request: pytest.FixtureRequest) -> None:
    for program in _all_programs(request):
        for rule in _ingress_rules(program):
            cidrs = _as_list(rule.get("cidrBlocks")) + _as_list(rule.get("cidrIpv4"))
            v6 = _as_list(rule.get("ipv6CidrBlocks")) + _as_list(rule.get("cidrIpv6"))
            assert "0.0.0.0/0" not in cidrs, rule
            assert "::/0" not in v6, rule
            for cidr in cidrs + v6:
                assert ipaddress.ip_network(cidr).prefixlen > 0
            low, high = int(rule.get("fromPort", 0)), int(rule.get("toPort", 65535))
            assert rule.get("protocol") not in ("-1", "all"), rule
            assert not low <= 22 <= high, f"SSH open: {rule}"


def test_default_host_security_group_has_no_ingress(default_program: Program) -> None:
    (host_sg,) = [sg for sg in default_program.of_type(SG) if sg.name.endswith("-host")]
    assert host_sg.inputs.get("ingress", []) == []
    # Egress only HTTPS, to the VPC (endpoints) and the S3 prefix list: no internet at all.
    for rule in host_sg.inputs["egress"]:
        assert (rule["fromPort"], rule["toPort"], rule["protocol"]) == (443, 443, "tcp")
        assert rule.get("cidrBlocks", [DEFAULT_VPC_CIDR]) == [DEFAULT_VPC_CIDR]
    endpoints = default_program.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    services = sorted(e.inputs["serviceName"].rsplit(".", 1)[1] for e in endpoints)
    assert services == [
        "ec2messages",
        "logs",
        "monitoring",
        "s3",
        "secretsmanager",
        "ssm",
        "ssmmessages",
    ]


def test_postgres_only_from_configured_sources(open_program: Program) -> None:
    (host_sg,) = [sg for sg in open_program.of_type(SG) if sg.name.endswith("-host")]
    rules = host_sg.inputs["ingress"]
    assert {(r["fromPort"], r["toPort"], r["protocol"]) for r in rules} == {(5432, 5432, "tcp")}
    sources = sorted(
        str(s)
        for r in rules
        for s in r.get("cidrBlocks", []) + r.get("ipv6CidrBlocks", []) + r.get("securityGroups", [])
    )
    assert sources == ["10.20.0.0/16", "2001:db8::/48", "sg-0123456789abcdef0"]


def test_without_endpoints_egress_is_https_only(bundle_dir: Path) -> None:
    program = run_program(
        {"aws:region": REGION, "revops-metrics:create_vpc_endpoints": "false"}, bundle_dir
    )
    assert program.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") == []
    (host_sg,) = program.of_type(SG)
    assert [(r["fromPort"], r["toPort"]) for r in host_sg.inputs["egress"]] == [(443, 443)]
    assert host_sg.inputs.get("ingress", []) == []


# --- instance and volumes -------------------------------------------------------------------


def test_instance_controls(request: pytest.FixtureRequest) -> None:
    for program in _all_programs(request):
        instances = program.of_type(INSTANCE)
        assert instances
        for instance in instances:
            inputs = instance.inputs
            meta = inputs["metadataOptions"]
            assert meta["httpTokens"] == "required"  # EC2.8
            assert meta["httpPutResponseHopLimit"] == 1
            assert meta.get("httpEndpoint", "enabled") == "enabled"
            assert inputs["rootBlockDevice"]["encrypted"] is True  # EC2.3
            assert not inputs.get("associatePublicIpAddress")  # EC2.9
            assert inputs["iamInstanceProfile"]  # SSM.1 needs the role
            assert not inputs.get("keyName")  # no SSH key
            assert inputs.get("userDataReplaceOnChange") is True
            for device in inputs.get("ebsBlockDevices", []):
                assert device["encrypted"] is True


def test_public_ip_only_when_configured(bundle_dir: Path) -> None:
    program = run_program(
        {"aws:region": REGION, "revops-metrics:associate_public_ip": "true"}, bundle_dir
    )
    (instance,) = program.of_type(INSTANCE)
    assert instance.inputs["associatePublicIpAddress"] is True


def test_every_volume_encrypted(request: pytest.FixtureRequest) -> None:
    for program in _all_programs(request):
        for volume in program.of_type(VOLUME):
            assert volume.inputs["encrypted"] is True


def test_data_volume_retained_protected_attached(default_program: Program) -> None:
    (declared,) = default_program.declared_of_type(VOLUME)
    assert declared.opts.protect is True
    assert declared.opts.retain_on_delete is True
    (volume,) = default_program.of_type(VOLUME)
    (instance,) = default_program.of_type(INSTANCE)
    assert volume.inputs["availabilityZone"] == "us-east-1a"  # the subnet's zone
    assert instance.inputs["subnetId"] == "subnet-0aaaaaaaaaaaaaaa1"
    (attachment,) = default_program.of_type("aws:ec2/volumeAttachment:VolumeAttachment")
    assert attachment.inputs["volumeId"] == volume.id
    assert attachment.inputs["instanceId"] == instance.id
    assert attachment.inputs["stopInstanceBeforeDetaching"] is True
    (declared_attachment,) = default_program.declared_of_type(
        "aws:ec2/volumeAttachment:VolumeAttachment"
    )
    assert declared_attachment.opts.delete_before_replace is True


def test_ami_lookup_is_al2023_and_pinned_after_first_up(default_program: Program) -> None:
    (ami_call,) = [a for t, a in default_program.mocks.calls if t == "aws:ec2/getAmi:getAmi"]
    names = [f["values"] for f in ami_call["filters"] if f["name"] == "name"]
    assert names == [["al2023-ami-2023.*-x86_64"]]
    assert ami_call["owners"] == ["amazon"]
    (declared,) = default_program.declared_of_type(INSTANCE)
    assert declared.opts.ignore_changes == ["ami"]


# --- IAM ------------------------------------------------------------------------------------


def _policy_documents(program: Program) -> list[tuple[str, Any]]:
    docs = [(r.name, r.inputs["policy"]) for r in program.of_type(ROLE_POLICY)]
    docs += [(r.name, r.inputs["policy"]) for r in program.of_type(POLICY)]
    for role in program.of_type(ROLE):
        docs.append((role.name, role.inputs["assumeRolePolicy"]))
        for inline in role.inputs.get("inlinePolicies", []):
            docs.append((role.name, inline["policy"]))
    return docs


def test_no_wildcard_actions(request: pytest.FixtureRequest) -> None:
    for program in _all_programs(request):
        docs = _policy_documents(program)
        assert docs
        for name, doc in docs:
            for statement in _statements(doc):
                assert "NotAction" not in statement, name
                for action in _as_list(statement.get("Action")):
                    assert "*" not in action, f"{name}: wildcard action {action}"
                    assert action != "*", name


def test_only_managed_policy_is_ssm_core(request: pytest.FixtureRequest) -> None:
    for program in _all_programs(request):
        arns = [a.inputs["policyArn"] for a in program.of_type(ATTACHMENT)]
        assert arns == [SSM_CORE]


def test_host_reads_exactly_its_own_secrets(default_program: Program) -> None:
    secret_arns = sorted(s.outputs["arn"] for s in default_program.of_type(SECRET))
    assert len(secret_arns) == 4
    (policy,) = [p for p in default_program.of_type(ROLE_POLICY) if "identity" in p.name]
    statements = {s["Sid"]: s for s in _statements(policy.inputs["policy"])}
    assert statements["ReadOwnDatabaseSecrets"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert sorted(statements["ReadOwnDatabaseSecrets"]["Resource"]) == secret_arns
    bundle = default_program.exports["bundle_uri"].removeprefix("s3://")
    assert statements["ReadOwnCodeBundle"]["Resource"] == [f"arn:aws:s3:::{bundle}"]
    assert statements["ReadOwnCodeBundle"]["Action"] == ["s3:GetObject"]
    (role,) = [r for r in default_program.of_type(ROLE) if "identity" in r.name]
    (trust,) = _statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"}


# --- secrets --------------------------------------------------------------------------------


def test_passwords_are_secret_outputs(request: pytest.FixtureRequest) -> None:
    for program in _all_programs(request):
        checked = 0
        for key, (_value, is_secret) in program.resolved.items():
            if key.startswith(("password:", "secret_string")):
                assert is_secret, f"{key} is not a Pulumi secret"
                checked += 1
        assert checked == 4 * 3  # four roles: password, secret_string input and output
        # The provider marks RandomPassword.result secret; the SDK asks for it explicitly.
        for declared in program.declared_of_type(PASSWORD):
            assert "result" in (declared.opts.additional_secret_outputs or [])
        # On the wire to the engine, every secret string is sent as a secret.
        for version in program.of_type(SECRET_VERSION):
            _plain, sent_secret = unwrap_secret(version.inputs["secretString"])
            assert sent_secret, version.name


def test_every_password_resource_and_secret(default_program: Program) -> None:
    passwords = default_program.of_type(PASSWORD)
    assert len(passwords) == 4
    for password in passwords:
        assert password.inputs["length"] >= 32
    versions = default_program.of_type(SECRET_VERSION)
    assert len(versions) == 4
    users = set()
    for version in versions:
        value = json.loads(unwrap_secret(version.inputs["secretString"])[0])
        assert set(value) == {"host", "port", "dbname", "username", "password"}
        assert value["password"].startswith(MOCK_PASSWORD_PREFIX)
        users.add((value["username"], value["dbname"]))
    assert users == {
        ("revops_etl", "revops_training"),
        ("revops_fdw_reader", "revops_training"),
        ("revops_runner", "revops_metrics"),
        ("revops_bi", "revops_metrics"),
    }


def test_no_password_in_plain_outputs_or_user_data(request: pytest.FixtureRequest) -> None:
    for program in _all_programs(request):
        passwords = [p.outputs["result"] for p in program.of_type(PASSWORD)]
        user_data, user_data_secret = program.resolved["user_data"]
        exports = json.dumps(program.exports, default=str)
        for password in passwords:
            assert password not in user_data
            assert password not in exports
        assert MOCK_PASSWORD_PREFIX not in user_data
        assert "password" not in user_data.lower().replace("passwords are read", "")
        for instance in program.of_type(INSTANCE):
            assert MOCK_PASSWORD_PREFIX not in json.dumps(instance.inputs)
        assert not user_data_secret


# --- user data ------------------------------------------------------------------------------


def test_user_data_passes_cloud_init_schema(request: pytest.FixtureRequest) -> None:
    for program in _all_programs(request):
        user_data, _ = program.resolved["user_data"]
        assert cloudconfig.errors(user_data) == []
        assert len(user_data.encode()) <= 16 * 1024


def test_user_data_passes_debian_cloud_init_schema_extra(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Extra: cloud-init's own checker, when the binary is installed."""
    tool = system_tool("cloud-init", "cloud-init")
    for index, program in enumerate(_all_programs(request)):
        user_data, _ = program.resolved["user_data"]
        path = tmp_path / f"user-data-{index}.yaml"
        path.write_text(user_data)
        result = subprocess.run(
            [tool, "schema", "--config-file", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Valid cloud-config" in result.stdout + result.stderr


def test_user_data_names_what_the_host_needs(open_program: Program) -> None:
    user_data, _ = open_program.resolved["user_data"]
    exports = open_program.exports
    assert exports["bundle_sha256"] in user_data
    assert exports["data_volume_id"] in user_data
    for arn in exports["secret_arns"].values():
        assert arn in user_data
    assert "REVOPS_BUSINESS_TIMEZONE=America/New_York" in user_data
    assert "REVOPS_RUN_TIME=07:15" in user_data
    # Security-group sources need the VPC range in pg_hba (TLS only).
    assert f"REVOPS_HBA_CIDRS='10.20.0.0/16 2001:db8::/48 {DEFAULT_VPC_CIDR}'" in user_data


# --- GitHub OIDC ----------------------------------------------------------------------------


def test_github_off_by_default(default_program: Program) -> None:
    assert default_program.of_type(OIDC) == []
    assert [r for r in default_program.of_type(ROLE) if "github" in r.name] == []
    assert default_program.exports["github_role_arn"] is None


def test_github_trust_policy_conditions(github_program: Program) -> None:
    (provider,) = github_program.of_type(OIDC)
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    (role,) = [r for r in github_program.of_type(ROLE) if "github" in r.name]
    (statement,) = _statements(role.inputs["assumeRolePolicy"])
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": provider.outputs["arn"]}
    assert set(statement["Condition"]) == {"StringEquals"}  # exact match, no StringLike
    equals = statement["Condition"]["StringEquals"]
    assert equals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert (
        equals["token.actions.githubusercontent.com:sub"]
        == "repo:acme/revops-metrics:ref:refs/heads/main"
    )
    assert github_program.exports["github_role_arn"] == role.outputs["arn"]


def test_github_role_may_only_send_the_metrics_document(github_program: Program) -> None:
    (policy,) = [p for p in github_program.of_type(ROLE_POLICY) if "github" in p.name]
    statements = _statements(policy.inputs["policy"])
    send = [s for s in statements if "ssm:SendCommand" in _as_list(s["Action"])]
    for statement in send:
        assert _as_list(statement["Action"]) == ["ssm:SendCommand"]
    (document,) = github_program.of_type("aws:ssm/document:Document")
    (instance,) = github_program.of_type(INSTANCE)
    by_resource = {tuple(s["Resource"]): s for s in send}
    assert set(by_resource) == {
        (document.outputs["arn"],),
        (instance.outputs["arn"].rsplit("/", 1)[0] + "/*",),
    }
    # Instances only with the stack's tag: the host, also after a replacement.
    tagged = by_resource[(instance.outputs["arn"].rsplit("/", 1)[0] + "/*",)]
    assert tagged["Condition"] == {"StringEquals": {"ssm:resourceTag/revops:stack": "test"}}
    assert instance.inputs["tags"]["revops:stack"] == "test"
    actions = sorted(a for s in statements for a in _as_list(s["Action"]))
    assert actions == [
        "cloudwatch:PutMetricData",
        "ec2:DescribeInstances",
        "ssm:GetCommandInvocation",
        "ssm:ListCommandInvocations",
        "ssm:SendCommand",
        "ssm:SendCommand",
    ]
    (role,) = [r for r in github_program.of_type(ROLE) if "github" in r.name]
    assert role.inputs["maxSessionDuration"] == 21600


def test_existing_oidc_provider_is_reused(bundle_dir: Path) -> None:
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    program = run_program(
        {**GITHUB_CONFIG, "revops-metrics:github_oidc_provider_arn": arn}, bundle_dir
    )
    assert program.of_type(OIDC) == []
    (role,) = [r for r in program.of_type(ROLE) if "github" in r.name]
    (statement,) = _statements(role.inputs["assumeRolePolicy"])
    assert statement["Principal"] == {"Federated": arn}


# --- outputs, bucket, document --------------------------------------------------------------


def test_stack_outputs(github_program: Program) -> None:
    exports = github_program.exports
    (instance,) = github_program.of_type(INSTANCE)
    assert exports["instance_id"] == instance.id
    assert exports["private_ip"] == "172.31.10.20"
    assert set(exports["secret_arns"]) == {"etl", "fdw_reader", "runner", "bi"}
    assert exports["ssm_document_name"] == "revops-test-metrics"
    assert exports["github_role_arn"].startswith("arn:aws:iam::")


def test_every_bucket_private_encrypted_tls_only(default_program: Program) -> None:
    """The code bucket and the landing bucket, and any bucket added later."""
    buckets = {b.id for b in default_program.of_type("aws:s3/bucket:Bucket")}
    assert len(buckets) == 2

    def by_bucket(typ: str) -> dict[str, Any]:
        found = {r.inputs["bucket"]: r.inputs for r in default_program.of_type(typ)}
        assert set(found) == buckets, typ
        return found

    for block in by_bucket("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").values():
        for key in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        ):
            assert block[key] is True
    for sse in by_bucket(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).values():
        assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    for ownership in by_bucket("aws:s3/bucketOwnershipControls:BucketOwnershipControls").values():
        assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    for policy in by_bucket("aws:s3/bucketPolicy:BucketPolicy").values():
        deny = [s for s in _statements(policy["policy"]) if s["Sid"] == "DenyInsecureTransport"]
        (statement,) = deny
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (obj,) = default_program.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    assert obj.inputs["key"].endswith(f"{default_program.exports['bundle_sha256']}.tar.gz")


def test_ssm_document_runs_only_the_units(default_program: Program) -> None:
    (document,) = default_program.of_type("aws:ssm/document:Document")
    assert document.inputs["documentType"] == "Command"
    content = json.loads(document.inputs["content"])
    params = content["parameters"]
    assert params["action"]["allowedValues"] == ["run", "backfill", "status"]
    assert params["backfillDays"]["allowedPattern"] == "^[1-9][0-9]{0,3}$"
    (step,) = content["mainSteps"]
    assert step["inputs"]["runCommand"] == [
        "/usr/local/sbin/revops-ssm-run '{{ action }}' '{{ backfillDays }}' '{{ trigger }}'"
    ]
    assert params["trigger"]["allowedValues"] == ["github", "manual"]


def test_program_runs_under_generic_mocks(bundle_dir: Path) -> None:
    """Outputs = inputs, bare invoke answers: still runs, controls still hold."""
    program = run_program({"aws:region": REGION}, bundle_dir, MinimalMocks())
    (instance,) = program.of_type(INSTANCE)
    assert instance.inputs["metadataOptions"]["httpTokens"] == "required"
    assert not instance.inputs.get("associatePublicIpAddress")
    user_data, _ = program.resolved["user_data"]
    assert user_data.startswith("#cloud-config")
    for password in program.of_type(PASSWORD):
        assert password.name not in user_data
    for rule in _ingress_rules(program):
        assert "0.0.0.0/0" not in _as_list(rule.get("cidrBlocks"))
    for _name, doc in _policy_documents(program):
        for statement in _statements(doc):
            assert all("*" not in a for a in _as_list(statement.get("Action")))
