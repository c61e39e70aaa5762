"""Network: where the host lives, what may reach PostgreSQL, and how the host reaches AWS.

Ingress: 5432 only from `allowed_cidrs` / `allowed_security_group_ids`; no rule at all when none
are given (EC2.18/19), never 0.0.0.0/0 or ::/0, and never SSH (EC2.13): shell access is SSM
Session Manager, ad-hoc database access SSM port forwarding.

Egress: the host has no public IP by default (EC2.9), so in the default VPC (no NAT) it reaches
AWS through VPC endpoints created here: interface endpoints for SSM, SSM messages, EC2 messages
(optional: `ec2messages_endpoint`) and Secrets Manager, and a free S3 gateway endpoint on the
chosen subnet's route table (the code bundle and the Amazon Linux package repositories are in
S3; `s3_endpoint_id` reuses an existing one). The host's egress is then HTTPS to the VPC (the
endpoints) and to the S3 prefix list only.

The subnet: the configured one, else the lowest-id default subnet whose zone offers the instance
type and every interface endpoint service (checked for a configured subnet too). With `create_vpc_endpoints: false` (a subnet with a NAT gateway, or existing
endpoints) egress is HTTPS to anywhere.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from infra.settings import Settings

# monitoring (CloudWatch metrics) and logs: the run metrics and the journal (infra/monitoring.py).
INTERFACE_ENDPOINT_SERVICES = (
    "ssm",
    "ssmmessages",
    "ec2messages",
    "secretsmanager",
    "monitoring",
    "logs",
)
# Only SSM Agent releases before 3.3.40.0 need ec2messages (newer ones use ssmmessages):
# `ec2messages_endpoint: false` saves one endpoint where the AMI's agent is new enough.
OPTIONAL_ENDPOINT_SERVICES = ("ec2messages",)


def interface_services(settings: Settings) -> tuple[str, ...]:
    """The interface endpoints this stack creates (none with create_vpc_endpoints false)."""
    if not settings.create_vpc_endpoints:
        return ()
    return tuple(
        s
        for s in INTERFACE_ENDPOINT_SERVICES
        if settings.ec2messages_endpoint or s not in OPTIONAL_ENDPOINT_SERVICES
    )


def _endpoint_service(settings: Settings, service: str, kind: str) -> tuple[str, set[str] | None]:
    """(service name, zones it is offered in, None when the answer names none) of an endpoint."""
    found = aws.ec2.get_vpc_endpoint_service(service=service, service_type=kind)
    name = getattr(found, "service_name", None) or f"com.amazonaws.{settings.region}.{service}"
    zones = getattr(found, "availability_zones", None)
    return str(name), (set(zones) if zones else None)


def eligible_zones(settings: Settings, endpoint_zones: list[set[str] | None]) -> set[str] | None:
    """Zones offering the instance type and every interface endpoint; None when unknown.

    In us-east-1 one zone offers no t3/t4g: a subnet there makes EC2 refuse the instance after
    the (protected) data volume already exists in that zone.
    """
    offered = aws.ec2.get_instance_type_offerings(
        location_type="availability-zone",
        filters=[
            aws.ec2.GetInstanceTypeOfferingsFilterArgs(
                name="instance-type", values=[settings.instance_type]
            )
        ],
    )
    locations = getattr(offered, "locations", None)
    zones: set[str] | None = set(locations) if locations is not None else None
    for service_zones in endpoint_zones:
        if service_zones is not None:
            zones = service_zones if zones is None else zones & service_zones
    return zones


def _lookup_subnet(settings: Settings, zones: set[str] | None) -> Any:
    """The configured subnet (checked), else the lowest-id eligible subnet of the VPC.

    Candidates: the configured VPC's subnets, or the default VPC's default-for-AZ subnets;
    eligible: its zone offers the instance type and the interface endpoint services.
    """
    where = f"offering {settings.instance_type} and the VPC endpoint services"
    if settings.subnet_id:
        subnet = aws.ec2.get_subnet(id=settings.subnet_id)
        zone = getattr(subnet, "availability_zone", None)
        if zones is not None and zone and zone not in zones:
            raise ValueError(
                f"subnet_id {settings.subnet_id} is in {zone}, which does not offer "
                f"{settings.instance_type} (or a VPC endpoint service); zones {where}: "
                f"{', '.join(sorted(zones)) or 'none'}"
            )
        return subnet
    if settings.vpc_id:
        vpc_id = settings.vpc_id
        filters = [aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[vpc_id])]
    else:
        vpc_id = aws.ec2.get_vpc(default=True).id
        filters = [
            aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[vpc_id]),
            aws.ec2.GetSubnetsFilterArgs(name="default-for-az", values=["true"]),
        ]
    ids = sorted(str(i) for i in aws.ec2.get_subnets(filters=filters).ids or [])
    if not ids:
        raise ValueError(f"no subnet found in VPC {vpc_id}: set subnet_id in the stack config")
    for subnet_id in ids:
        subnet = aws.ec2.get_subnet(id=subnet_id)
        zone = getattr(subnet, "availability_zone", None)
        if zones is None or not zone or zone in zones:
            return subnet
    raise ValueError(
        f"no subnet of VPC {vpc_id} is in a zone {where} "
        f"({', '.join(sorted(zones)) or 'none'}): pick another instance_type or subnet_id"
    )


def subnet_route_tables(vpc_id: str, subnet_id: str, main_route_table_id: str | None) -> list[str]:
    """The route table the subnet uses: its explicit association, else the VPC's main table."""
    found = aws.ec2.get_route_tables(
        vpc_id=vpc_id,
        filters=[
            aws.ec2.GetRouteTablesFilterArgs(name="association.subnet-id", values=[subnet_id])
        ],
    )
    ids = sorted(str(i) for i in (getattr(found, "ids", None) or []))
    if ids:
        return ids
    return [main_route_table_id] if main_route_table_id else []


def postgres_ingress(settings: Settings, how: str) -> list[aws.ec2.SecurityGroupIngressArgs]:
    """Port 5432 from each configured CIDR (IPv4 or IPv6) and security group, nothing else;
    ``how`` goes into the rule descriptions (e.g. "TLS, scram-sha-256")."""
    return [
        aws.ec2.SecurityGroupIngressArgs(
            description=f"PostgreSQL ({how}) from an allowed network",
            protocol="tcp",
            from_port=5432,
            to_port=5432,
            cidr_blocks=None if ":" in cidr else [cidr],
            ipv6_cidr_blocks=[cidr] if ":" in cidr else None,
        )
        for cidr in settings.allowed_cidrs
    ] + [
        aws.ec2.SecurityGroupIngressArgs(
            description=f"PostgreSQL ({how}) from an allowed security group",
            protocol="tcp",
            from_port=5432,
            to_port=5432,
            security_groups=[group],
        )
        for group in settings.allowed_security_group_ids
    ]


class Network(pulumi.ComponentResource):
    """Security group of the host, plus VPC endpoints so it needs no public address."""

    subnet_id: str
    availability_zone: str
    vpc_id: str
    vpc_cidr: str
    security_group: aws.ec2.SecurityGroup
    endpoints: list[aws.ec2.VpcEndpoint]

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("revops:infra:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        services = {
            service: _endpoint_service(settings, service, "Interface")
            for service in interface_services(settings)
        }
        zones = eligible_zones(settings, [z for _, z in services.values()])
        subnet = _lookup_subnet(settings, zones)
        vpc = aws.ec2.get_vpc(id=subnet.vpc_id or settings.vpc_id)
        self.subnet_id = subnet.id
        # AWS always returns the zone; a bare test mock may not, and the volume requires one.
        self.availability_zone = subnet.availability_zone or f"{settings.region}a"
        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.endpoints = []
        tags = {"Name": settings.name, "revops:stack": settings.stack}

        egress: list[aws.ec2.SecurityGroupEgressArgs]
        if settings.create_vpc_endpoints:
            endpoint_sg = aws.ec2.SecurityGroup(
                f"{name}-endpoints",
                description=f"{settings.name}: HTTPS from the VPC to its AWS interface endpoints",
                vpc_id=vpc.id,
                ingress=[
                    aws.ec2.SecurityGroupIngressArgs(
                        description="HTTPS from the VPC to the endpoints",
                        protocol="tcp",
                        from_port=443,
                        to_port=443,
                        cidr_blocks=[vpc.cidr_block],
                    )
                ],
                egress=[],
                tags={**tags, "Name": f"{settings.name}-endpoints"},
                opts=child,
            )
            for service, (service_name, _zones) in services.items():
                self.endpoints.append(
                    aws.ec2.VpcEndpoint(
                        f"{name}-{service}",
                        vpc_id=vpc.id,
                        service_name=service_name,
                        vpc_endpoint_type="Interface",
                        subnet_ids=[subnet.id],
                        security_group_ids=[endpoint_sg.id],
                        private_dns_enabled=True,
                        tags={**tags, "Name": f"{settings.name}-{service}"},
                        opts=child,
                    )
                )
            s3_prefix_list: pulumi.Input[str]
            if settings.s3_endpoint_id:
                # Reused: it must already serve the subnet's route table (docs/DEPLOY.md).
                existing = aws.ec2.get_vpc_endpoint(id=settings.s3_endpoint_id)
                s3_prefix_list = str(getattr(existing, "prefix_list_id", None) or "")
            else:
                s3_name, _ = _endpoint_service(settings, "s3", "Gateway")
                s3 = aws.ec2.VpcEndpoint(
                    f"{name}-s3",
                    vpc_id=vpc.id,
                    service_name=s3_name,
                    vpc_endpoint_type="Gateway",
                    # The route table of the chosen subnet (its own, else the VPC's main one):
                    # the main table alone misses subnets of a custom VPC with their own table.
                    route_table_ids=subnet_route_tables(
                        vpc.id, subnet.id, getattr(vpc, "main_route_table_id", None)
                    ),
                    tags={**tags, "Name": f"{settings.name}-s3"},
                    opts=child,
                )
                self.endpoints.append(s3)
                s3_prefix_list = s3.prefix_list_id
            egress = [
                aws.ec2.SecurityGroupEgressArgs(
                    description="HTTPS to the VPC interface endpoints (SSM, Secrets Manager)",
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=[vpc.cidr_block],
                ),
                aws.ec2.SecurityGroupEgressArgs(
                    description="HTTPS to S3 (code bundle, Amazon Linux repositories)",
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    prefix_list_ids=[s3_prefix_list],
                ),
            ]
        else:
            egress = [
                aws.ec2.SecurityGroupEgressArgs(
                    description="HTTPS to AWS APIs and package repositories (through NAT)",
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=["0.0.0.0/0"],
                )
            ]

        if settings.rds:
            # database: rds: the host is a client of the RDS instance in the same VPC
            egress.append(
                aws.ec2.SecurityGroupEgressArgs(
                    description="PostgreSQL to the RDS instance (in the VPC)",
                    protocol="tcp",
                    from_port=5432,
                    to_port=5432,
                    cidr_blocks=[vpc.cidr_block],
                )
            )
        ingress = [] if settings.rds else postgres_ingress(settings, "TLS, scram-sha-256")
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-host",
            description=f"{settings.name}: PostgreSQL host (no SSH; shell via SSM)",
            vpc_id=vpc.id,
            ingress=ingress,
            egress=egress,
            revoke_rules_on_delete=True,
            tags={**tags, "Name": f"{settings.name}-host"},
            opts=child,
        )
        self.register_outputs(
            {"security_group_id": self.security_group.id, "subnet_id": self.subnet_id}
        )
