"""Network: where the host lives, what may reach PostgreSQL, and how the host reaches AWS.

Ingress: 5432 only from `allowed_cidrs` / `allowed_security_group_ids`; no rule at all when none
are given (EC2.18/19), never 0.0.0.0/0 or ::/0, and never SSH (EC2.13): shell access is SSM
Session Manager, ad-hoc database access SSM port forwarding.

Egress: the host has no public IP by default (EC2.9), so in the default VPC (no NAT) it reaches
AWS through VPC endpoints created here: interface endpoints for SSM, SSM messages, EC2 messages
and Secrets Manager, and a free S3 gateway endpoint (the code bundle and the Amazon Linux package
repositories are in S3). The host's egress is then HTTPS to the VPC (the endpoints) and to the S3
prefix list only. With `create_vpc_endpoints: false` (a subnet with a NAT gateway, or existing
endpoints) egress is HTTPS to anywhere.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from infra.settings import Settings

INTERFACE_ENDPOINT_SERVICES = ("ssm", "ssmmessages", "ec2messages", "secretsmanager")


def _lookup_subnet(settings: Settings) -> Any:
    """The subnet to use: the configured one, else the VPC's first default-for-AZ subnet."""
    if settings.subnet_id:
        return aws.ec2.get_subnet(id=settings.subnet_id)
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
    return aws.ec2.get_subnet(id=ids[0])


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
        subnet = _lookup_subnet(settings)
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
            for service in INTERFACE_ENDPOINT_SERVICES:
                self.endpoints.append(
                    aws.ec2.VpcEndpoint(
                        f"{name}-{service}",
                        vpc_id=vpc.id,
                        service_name=f"com.amazonaws.{settings.region}.{service}",
                        vpc_endpoint_type="Interface",
                        subnet_ids=[subnet.id],
                        security_group_ids=[endpoint_sg.id],
                        private_dns_enabled=True,
                        tags={**tags, "Name": f"{settings.name}-{service}"},
                        opts=child,
                    )
                )
            s3 = aws.ec2.VpcEndpoint(
                f"{name}-s3",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{settings.region}.s3",
                vpc_endpoint_type="Gateway",
                # The VPC's main route table: the one the default VPC's subnets use. A subnet
                # with its own route table: set create_vpc_endpoints false and add it there.
                route_table_ids=[vpc.main_route_table_id],
                tags={**tags, "Name": f"{settings.name}-s3"},
                opts=child,
            )
            self.endpoints.append(s3)
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
                    prefix_list_ids=[s3.prefix_list_id],
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

        ingress = [
            aws.ec2.SecurityGroupIngressArgs(
                description="PostgreSQL (TLS, scram-sha-256) from an allowed network",
                protocol="tcp",
                from_port=5432,
                to_port=5432,
                cidr_blocks=None if ":" in cidr else [cidr],
                ipv6_cidr_blocks=[cidr] if ":" in cidr else None,
            )
            for cidr in settings.allowed_cidrs
        ] + [
            aws.ec2.SecurityGroupIngressArgs(
                description="PostgreSQL (TLS, scram-sha-256) from an allowed security group",
                protocol="tcp",
                from_port=5432,
                to_port=5432,
                security_groups=[group],
            )
            for group in settings.allowed_security_group_ids
        ]
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
