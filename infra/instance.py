"""Host: the EC2 instance and the separate, retained, encrypted data volume.

- IMDSv2 required, hop limit 1 (EC2.8): containers or forwarded traffic cannot reach IMDS.
- Encrypted gp3 root volume (EC2.3); no public IPv4 unless configured (EC2.9).
- Managed by SSM (SSM.1) through the instance role; no key pair, no SSH.
- PGDATA lives on its own encrypted gp3 volume, `protect`ed and `retain_on_delete`: neither a
  `pulumi destroy` nor an instance replacement deletes it. It is formatted only when blank.

What replaces the instance: a new code bundle (the user data names it by sha256), a change of
a host setting (PostgreSQL major, time zone, run time, allowed networks, secrets), a new
`ami_id` or instance type family change. That is safe because the host holds no state of its
own: the attachment is deleted first (`delete_before_replace`), stopping the old instance so
PostgreSQL shuts down cleanly (`stop_instance_before_detaching`); the new instance attaches the
same volume, finds PGDATA already there and only re-applies configuration and migrations. The
timer is `Persistent=true`, so a run missed during the swap happens at boot. The newest AL2023
AMI is ignored after the first `up` (`ignore_changes`) so AWS's AMI releases never replace the
host by surprise; set `ami_id` to move on deliberately.
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from infra.settings import Settings

DATA_DEVICE_NAME = "/dev/sdf"

# The cloud-init that runs the user data on the host image chosen below (AL2023 ships the RPM
# `cloud-init-22.2.2-*.amzn2023`; check with `rpm -q cloud-init` on the host). The tests
# validate the user data with a vendored copy of cloud-init's JSON schema and fail when that
# copy is older than this version: update both together when the image (or `ami_id`) moves on.
HOST_CLOUD_INIT_VERSION = "22.2.2"


def latest_al2023_ami(architecture: str) -> str:
    """The newest Amazon Linux 2023 AMI (standard kernel) for the architecture."""
    return aws.ec2.get_ami(
        most_recent=True,
        owners=["amazon"],
        filters=[
            aws.ec2.GetAmiFilterArgs(name="name", values=[f"al2023-ami-2023.*-{architecture}"]),
            aws.ec2.GetAmiFilterArgs(name="architecture", values=[architecture]),
            aws.ec2.GetAmiFilterArgs(name="state", values=["available"]),
        ],
    ).id


class DatabaseHost(pulumi.ComponentResource):
    """EC2 instance running PostgreSQL, with its data volume attached."""

    instance: aws.ec2.Instance
    data_volume: aws.ebs.Volume | None
    attachment: aws.ec2.VolumeAttachment | None

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        subnet_id: str,
        availability_zone: str,
        security_group_id: pulumi.Input[str],
        instance_profile: pulumi.Input[str],
        user_data: Callable[[pulumi.Output[str]], pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`user_data` renders the cloud-config from the data volume's id."""
        super().__init__("revops:infra:DatabaseHost", name, None, opts)
        # Created first: the user data names it so the host finds its device by volume id.
        # database: rds: no PostgreSQL on the host, so no data volume (and no attachment).
        self.data_volume = (
            None
            if settings.rds
            else aws.ebs.Volume(
                f"{name}-pgdata",
                availability_zone=availability_zone,
                size=settings.data_volume_size_gib,
                type="gp3",
                encrypted=True,
                final_snapshot=True,
                # Restore (docs/DEPLOY.md): a new volume from this snapshot replaces the old one,
                # which is kept in AWS (retain_on_delete) until you delete it.
                snapshot_id=settings.data_volume_snapshot_id,
                tags={
                    "Name": f"{settings.name}-pgdata",
                    "revops:stack": settings.stack,
                    # Daily snapshots by the stack's DLM policy (infra/backup.py).
                    "revops:backup": settings.name,
                },
                opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
            )
        )
        ami = settings.ami_id or latest_al2023_ami(settings.architecture)
        self.instance = aws.ec2.Instance(
            f"{name}-instance",
            ami=ami,
            instance_type=settings.instance_type,
            subnet_id=subnet_id,
            availability_zone=availability_zone,
            vpc_security_group_ids=[security_group_id],
            iam_instance_profile=instance_profile,
            associate_public_ip_address=settings.associate_public_ip,
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                encrypted=True,
                volume_type="gp3",
                volume_size=settings.root_volume_size_gib,
                delete_on_termination=True,
            ),
            ebs_optimized=True,
            monitoring=False,
            user_data=user_data(
                self.data_volume.id if self.data_volume else pulumi.Output.from_input("")
            ),
            user_data_replace_on_change=True,
            tags={"Name": settings.name, "revops:stack": settings.stack},
            volume_tags={"Name": f"{settings.name}-root", "revops:stack": settings.stack},
            opts=pulumi.ResourceOptions(
                parent=self,
                ignore_changes=[] if settings.ami_id else ["ami"],
            ),
        )
        self.attachment = None
        if self.data_volume is not None:
            self.attachment = aws.ec2.VolumeAttachment(
                f"{name}-data",
                device_name=DATA_DEVICE_NAME,
                volume_id=self.data_volume.id,
                instance_id=self.instance.id,
                stop_instance_before_detaching=True,
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            )
        self.register_outputs(
            {"instance_id": self.instance.id, "private_ip": self.instance.private_ip}
        )
