"""Amazon MSK: the event bus, reachable only from the EKS nodes, with IAM auth over TLS.

Provisioned mode runs brokers we size (KMS at rest, broker logs, storage autoscaling); serverless
mode lets MSK size itself. Either way clients authenticate with IAM on port 9098 and are
authorised per topic and group through `topic_arn` / `group_arn`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

IAM_PORT = 9098  # SASL/IAM inside the VPC (TLS-only clients would use 9094)
MAX_VOLUME_GB = 16384  # the largest EBS volume MSK gives a broker
STORAGE_TARGET_UTILIZATION = 60.0
_CLUSTER_ARN = re.compile(r"^(arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}):cluster/([^/]+/[^/]+)$")
# The retentions CloudWatch Logs accepts, in days.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip


@dataclass(frozen=True)
class KafkaArgs:
    mode: Literal["provisioned", "serverless"]
    version: str
    broker_instance_type: str
    brokers: int
    volume_size_gb: int
    environment: Literal["dev", "prod"]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    client_security_group_id: pulumi.Input[str]  # the EKS cluster security group of the nodes
    log_retention_days: int = 30

    def __post_init__(self) -> None:
        checks = {
            "mode": (self.mode in ("provisioned", "serverless"), "'provisioned' or 'serverless'"),
            "environment": (self.environment in ("dev", "prod"), "'dev' or 'prod'"),
            "version": (bool(self.version), "a Kafka version such as 3.9.x"),
            "broker_instance_type": (
                self.broker_instance_type.startswith("kafka."),
                "an MSK instance type such as kafka.m7g.large",
            ),
            "brokers": (self.brokers >= 1, ">= 1"),
            "volume_size_gb": (1 <= self.volume_size_gb <= MAX_VOLUME_GB, f"1 to {MAX_VOLUME_GB}"),
            "log_retention_days": (
                self.log_retention_days in LOG_RETENTION_DAYS,
                "a CloudWatch retention (1, 3, 5, 7, 14, 30, 60, 90, ... days)",
            ),
        }
        for field, (ok, allowed) in checks.items():
            if not ok:
                raise ValueError(
                    f"KafkaArgs.{field} must be {allowed}, got {getattr(self, field)!r}"
                )


def server_properties(environment: str, brokers: int) -> str:
    """Broker settings: no implicit topics, replicated data, never an unclean leader.

    Three replicas where there are three brokers, and `min.insync.replicas` one less: 2 of 3 on
    a prod-sized cluster, so an `acks=all` producer survives one broker down; 1 on a 2-broker dev
    cluster (and on a lone broker). Prod gets more default partitions for consumer parallelism.
    """
    replication = min(3, brokers)
    min_insync = max(1, replication - 1)
    props = {
        "auto.create.topics.enable": "false",
        "default.replication.factor": replication,
        "min.insync.replicas": min_insync,
        "offsets.topic.replication.factor": replication,
        "transaction.state.log.replication.factor": replication,
        "transaction.state.log.min.isr": min_insync,
        "unclean.leader.election.enable": "false",
        "num.partitions": 6 if environment == "prod" else 3,
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def _resource_arn(cluster_arn: str, kind: str, name: str) -> str:
    match = _CLUSTER_ARN.match(cluster_arn)
    if not match:
        raise ValueError(f"not an MSK cluster ARN (arn:aws:kafka:R:A:cluster/N/U): {cluster_arn!r}")
    if not name or "/" in name:
        raise ValueError(f"{kind} name must be non-empty and without '/', got {name!r}")
    prefix, cluster = match.groups()
    return f"{prefix}:{kind}/{cluster}/{name}"


def topic_arn(cluster_arn: str, topic: str) -> str:
    """`arn:aws:kafka:R:A:cluster/NAME/UUID` -> `arn:aws:kafka:R:A:topic/NAME/UUID/TOPIC`."""
    return _resource_arn(cluster_arn, "topic", topic)


def group_arn(cluster_arn: str, group: str) -> str:
    """`arn:aws:kafka:R:A:cluster/NAME/UUID` -> `arn:aws:kafka:R:A:group/NAME/UUID/GROUP`."""
    return _resource_arn(cluster_arn, "group", group)


class Kafka(pulumi.ComponentResource):
    """An MSK cluster (provisioned or serverless) that only the EKS nodes can reach, via IAM."""

    cluster_arn: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    bootstrap_brokers: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: KafkaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ascent:aws:Kafka", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="MSK brokers: Kafka over IAM from the EKS nodes only",
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-ingress-iam",
            security_group_id=sg.id,
            description="Kafka SASL/IAM from the EKS nodes",
            ip_protocol="tcp",
            from_port=IAM_PORT,
            to_port=IAM_PORT,
            referenced_security_group_id=args.client_security_group_id,
            opts=child,
        )
        # Egress is open: the group is stateful, so replies to clients need no rule; this one only
        # covers connections the broker ENIs open themselves, which MSK manages and does not
        # document. The ingress rule above is the boundary. (Narrowing this to the VPC CIDR would
        # need a `get_vpc` lookup, or the CIDR as another argument.)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress",
            security_group_id=sg.id,
            description="Broker-initiated traffic (MSK-managed)",
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            opts=child,
        )
        self.security_group_id = sg.id

        if args.mode == "serverless":
            # MSK Serverless has no broker sizing, configuration, CMK or storage to scale.
            serverless = aws.msk.ServerlessCluster(
                f"{name}-cluster",
                vpc_configs=[{"subnet_ids": args.subnet_ids, "security_group_ids": [sg.id]}],
                client_authentication={"sasl": {"iam": {"enabled": True}}},
                opts=child,
            )
            self.cluster_arn = serverless.arn
            self.cluster_name = serverless.cluster_name
            self.bootstrap_brokers = serverless.bootstrap_brokers_sasl_iam
        else:
            self._provisioned(name, args, sg, child)

        self.register_outputs(
            {
                "clusterArn": self.cluster_arn,
                "clusterName": self.cluster_name,
                "bootstrapBrokers": self.bootstrap_brokers,
                "securityGroupId": self.security_group_id,
            }
        )

    def _provisioned(
        self,
        name: str,
        args: KafkaArgs,
        sg: aws.ec2.SecurityGroup,
        child: pulumi.ResourceOptions,
    ) -> None:
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the {name} MSK broker storage",
            enable_key_rotation=True,
            deletion_window_in_days=30 if args.environment == "prod" else 7,
            opts=child,
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-broker-logs", retention_in_days=args.log_retention_days, opts=child
        )
        config = aws.msk.Configuration(
            f"{name}-config",
            kafka_versions=[args.version],
            server_properties=server_properties(args.environment, args.brokers),
            opts=child,
        )
        cluster = aws.msk.Cluster(
            f"{name}-cluster",
            kafka_version=args.version,
            number_of_broker_nodes=args.brokers,
            broker_node_group_info={
                "instance_type": args.broker_instance_type,
                "client_subnets": args.subnet_ids,
                "security_groups": [sg.id],
                "storage_info": {"ebs_storage_info": {"volume_size": args.volume_size_gb}},
            },
            encryption_info={
                "encryption_at_rest_kms_key_arn": key.arn,
                "encryption_in_transit": {"client_broker": "TLS", "in_cluster": True},
            },
            client_authentication={"sasl": {"iam": True}, "unauthenticated": False},
            configuration_info={"arn": config.arn, "revision": config.latest_revision},
            logging_info={
                "broker_logs": {"cloudwatch_logs": {"enabled": True, "log_group": logs.name}}
            },
            open_monitoring={
                "prometheus": {
                    "jmx_exporter": {"enabled_in_broker": True},
                    "node_exporter": {"enabled_in_broker": True},
                }
            },
            # Storage autoscaling grows the volumes; the next `up` must not shrink them back.
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    ignore_changes=["brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize"]
                ),
            ),
        )
        target = aws.appautoscaling.Target(
            f"{name}-storage-target",
            service_namespace="kafka",
            scalable_dimension="kafka:broker-storage:VolumeSize",
            resource_id=cluster.arn,
            min_capacity=1,
            max_capacity=min(4 * args.volume_size_gb, MAX_VOLUME_GB),
            opts=child,
        )
        aws.appautoscaling.Policy(
            f"{name}-storage-policy",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": STORAGE_TARGET_UTILIZATION,
                "disable_scale_in": True,  # MSK broker volumes can only grow
                "predefined_metric_specification": {
                    "predefined_metric_type": "KafkaBrokerStorageUtilization"
                },
            },
            opts=child,
        )
        self.cluster_arn = cluster.arn
        self.cluster_name = cluster.cluster_name
        self.bootstrap_brokers = cluster.bootstrap_brokers_sasl_iam
