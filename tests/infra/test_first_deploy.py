"""First-deploy blockers of issue 15 (section 4): what a first `pulumi up` in a real account trips on.

Each test names the failure it prevents; the program runs under the mocks of pulumi_harness.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from infra.settings import Settings, SettingsError, load_settings
from pulumi_harness import REGION, Mocks, Program, fake_wheelhouse, run_program

from infra import wheelhouse

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
INSTANCE = "aws:ec2/instance:Instance"
VOLUME = "aws:ebs/volume:Volume"


def test_no_infra_module_shadows_the_standard_library() -> None:
    """infra/ is put on sys.path by Pulumi: a module named like a stdlib one hides it."""
    names = {p.stem for p in (ROOT / "infra").glob("*.py")} - {"__init__", "__main__"}
    assert not names & set(sys.stdlib_module_names), names & set(sys.stdlib_module_names)


def _settings(**raw: str) -> Settings:
    return load_settings(raw.get, stack="dev", region=REGION)


def test_subnet_in_a_zone_without_the_instance_type_is_skipped(bundle_dir: Path) -> None:
    """us-east-1a (the lowest subnet id) offers no t3: the host goes to us-east-1b."""
    mocks = Mocks(type_zones={"us-east-1b", "us-east-1c"})
    program = run_program({"aws:region": REGION}, bundle_dir, mocks)
    (instance,) = program.of_type(INSTANCE)
    (volume,) = program.of_type(VOLUME)
    assert instance.inputs["subnetId"] == "subnet-0bbbbbbbbbbbbbbb2"
    assert volume.inputs["availabilityZone"] == "us-east-1b"
    [offerings] = [a for t, a in mocks.calls if t.endswith("getInstanceTypeOfferings")]
    assert offerings["filters"][0]["values"] == ["t3.small"]


def test_zone_without_an_endpoint_service_is_skipped(bundle_dir: Path) -> None:
    mocks = Mocks(endpoint_zones={"us-east-1b"})
    program = run_program({"aws:region": REGION}, bundle_dir, mocks)
    (instance,) = program.of_type(INSTANCE)
    assert instance.inputs["subnetId"] == "subnet-0bbbbbbbbbbbbbbb2"


def test_no_eligible_zone_is_a_clear_error(bundle_dir: Path) -> None:
    with pytest.raises(Exception, match="no subnet of VPC .* offering t3.small"):
        run_program({"aws:region": REGION}, bundle_dir, Mocks(type_zones={"us-east-1f"}))


def test_configured_subnet_in_a_wrong_zone_is_refused(bundle_dir: Path) -> None:
    config = {"aws:region": REGION, "revops-metrics:subnet_id": "subnet-0aaaaaaaaaaaaaaa1"}
    with pytest.raises(Exception, match="us-east-1a, which does not offer t3.small"):
        run_program(config, bundle_dir, Mocks(type_zones={"us-east-1b"}))


def _s3_endpoint(program: Program) -> dict[str, object]:
    (s3,) = [e for e in program.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Gateway"]
    return s3.inputs


def test_s3_gateway_on_the_subnets_own_route_table(bundle_dir: Path) -> None:
    mocks = Mocks(subnet_route_tables={"subnet-0aaaaaaaaaaaaaaa1": "rtb-0subnet00000000a"})
    program = run_program({"aws:region": REGION}, bundle_dir, mocks)
    assert _s3_endpoint(program)["routeTableIds"] == ["rtb-0subnet00000000a"]


def test_s3_gateway_on_the_main_route_table_without_an_association(
    default_program: Program,
) -> None:
    assert _s3_endpoint(default_program)["routeTableIds"] == ["rtb-0main000000000001"]
    assert _s3_endpoint(default_program)["serviceName"] == f"com.amazonaws.{REGION}.s3"


def test_existing_s3_endpoint_is_reused(bundle_dir: Path) -> None:
    config = {"aws:region": REGION, "revops-metrics:s3_endpoint_id": "vpce-0123456789abcdef0"}
    program = run_program(config, bundle_dir)
    gateways = [e for e in program.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Gateway"]
    assert gateways == []
    (host_sg,) = [
        sg
        for sg in program.of_type("aws:ec2/securityGroup:SecurityGroup")
        if sg.name.endswith("-host")
    ]
    prefix_lists = [r.get("prefixListIds") for r in host_sg.inputs["egress"]]
    assert ["pl-0existing000001"] in prefix_lists


def test_ec2messages_endpoint_is_optional(bundle_dir: Path, default_program: Program) -> None:
    def services(program: Program) -> list[str]:
        return sorted(e.inputs["serviceName"].rsplit(".", 1)[1] for e in program.of_type(ENDPOINT))

    everything = ["ec2messages", "logs", "monitoring", "s3", "secretsmanager", "ssm", "ssmmessages"]
    assert services(default_program) == everything
    config = {"aws:region": REGION, "revops-metrics:ec2messages_endpoint": "false"}
    assert services(run_program(config, bundle_dir)) == everything[1:]


def test_partition_comes_from_the_account(bundle_dir: Path) -> None:
    class China(Mocks):
        def call(self, args):  # type: ignore[no-untyped-def]
            if args.token == "aws:index/getPartition:getPartition":
                return {"id": "aws-cn", "partition": "aws-cn", "dnsSuffix": "amazonaws.com.cn"}
            return super().call(args)

    program = run_program({"aws:region": REGION}, bundle_dir, China())
    arns = [
        a.inputs["policyArn"]
        for a in program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    ]
    assert arns == ["arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    roles = {r.name: r.inputs["assumeRolePolicy"] for r in program.of_type("aws:iam/role:Role")}
    [host] = [v for k, v in roles.items() if "identity" in k]
    assert '"ec2.amazonaws.com.cn"' in host
    [dlm] = [v for k, v in roles.items() if "backup" in k]
    assert '"dlm.amazonaws.com.cn"' in dlm
    for path in (ROOT / "infra").glob("*.py"):
        assert '"arn:aws:' not in path.read_text(), f"{path.name} hard-codes the partition"


@pytest.mark.parametrize(
    ("stack", "prefix"),
    [
        ("prod", "revops-prod-code-"),
        ("Team_Prod.eu", "revops-team-prod-eu-code-"),
        ("a" * 60, "revops-" + "a" * 30),
    ],
)
def test_bucket_prefix_is_a_valid_bucket_name(stack: str, prefix: str) -> None:
    value = Settings(stack=stack, region=REGION).bucket_prefix("code")
    assert value == prefix
    assert len(value) <= 37
    assert all(c.islower() or c.isdigit() or c == "-" for c in value)


def test_bucket_of_a_stack_with_underscores(bundle_dir: Path) -> None:
    import pulumi

    original = pulumi.get_stack
    try:
        pulumi.get_stack = lambda: "qa_team"  # type: ignore[assignment]
        program = run_program({"aws:region": REGION}, bundle_dir)
    finally:
        pulumi.get_stack = original  # type: ignore[assignment]
    for bucket in program.of_type("aws:s3/bucket:Bucket"):
        assert "_" not in bucket.inputs["bucketPrefix"], bucket.inputs


def test_postgresql_18_is_accepted() -> None:
    assert _settings(postgres_major="18").postgres_major == 18
    with pytest.raises(SettingsError, match="postgres_major"):
        _settings(postgres_major="14")


def test_new_network_keys_are_validated() -> None:
    with pytest.raises(SettingsError, match="s3_endpoint_id"):
        _settings(s3_endpoint_id="rtb-123")
    assert _settings().ec2messages_endpoint is True
    assert _settings(ec2messages_endpoint="false").ec2messages_endpoint is False


# --- wheelhouse -----------------------------------------------------------------------------


def test_complete_wheelhouse_has_no_problems(tmp_path: Path) -> None:
    wheels = fake_wheelhouse(tmp_path / "w")
    assert wheelhouse.problems(wheels, ROOT / "pyproject.toml", "x86_64") == []


def test_wheelhouse_built_on_python_3_13_misses_typing_extensions(tmp_path: Path) -> None:
    """What pip leaves out when it evaluates `python_version < "3.13"` for its own Python."""
    wheels = fake_wheelhouse(tmp_path / "w", omit=("typing_extensions",))
    found = wheelhouse.problems(wheels, ROOT / "pyproject.toml", "x86_64")
    assert found == ["missing typing-extensions>=4.6 (needed by psycopg 3.2.9)"]
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "infra" / "wheelhouse.py"),
            "missing",
            "--arch",
            "x86_64",
            str(wheels),
            str(ROOT / "pyproject.toml"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.splitlines() == ["typing-extensions>=4.6"]


def test_wheelhouse_of_another_architecture(tmp_path: Path) -> None:
    wheels = fake_wheelhouse(tmp_path / "w", arch="aarch64")
    found = wheelhouse.problems(wheels, ROOT / "pyproject.toml", "x86_64")
    assert any("psycopg_binary" in f and "not installable" in f for f in found), found
    assert any(f.startswith("missing psycopg-binary") for f in found), found
    assert wheelhouse.problems(wheels, ROOT / "pyproject.toml", "arm64") == []


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("x-1-cp311-cp311-manylinux_2_34_x86_64.whl", True),
        ("x-1-cp311-cp311-manylinux_2_35_x86_64.whl", False),  # AL2023 has glibc 2.34
        ("x-1-cp38-abi3-manylinux2014_x86_64.whl", True),
        ("x-1-cp313-cp313-manylinux_2_17_x86_64.whl", False),
        ("x-1-cp311-cp311-macosx_11_0_arm64.whl", False),
        ("x-1-py3-none-any.whl", True),
    ],
)
def test_wheel_tags_for_the_host(name: str, ok: bool) -> None:
    assert wheelhouse.installable(wheelhouse.parse_wheel(Path(name)), "x86_64") is ok


def test_deploy_without_a_wheelhouse_is_an_error(bundle_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no internet route.*build-wheelhouse.sh x86_64"):
        run_program({"aws:region": REGION}, bundle_dir, wheels=tmp_path / "none")
    # With a NAT (no endpoints) the host installs from PyPI: no wheelhouse is fine.
    config = {"aws:region": REGION, "revops-metrics:create_vpc_endpoints": "false"}
    run_program(config, bundle_dir, wheels=tmp_path / "none")


def test_deploy_with_a_wrong_architecture_wheelhouse_is_an_error(
    bundle_dir: Path, tmp_path: Path
) -> None:
    wheels = fake_wheelhouse(tmp_path / "x86")
    config = {"aws:region": REGION, "revops-metrics:instance_type": "t4g.small"}
    with pytest.raises(Exception, match="does not fit the aarch64 host"):
        run_program(config, bundle_dir, wheels=wheels)
    config["revops-metrics:create_vpc_endpoints"] = "false"
    with pytest.raises(Exception, match="does not fit the aarch64 host"):
        run_program(config, bundle_dir, wheels=wheels)
