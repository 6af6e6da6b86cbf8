"""Workload identity: one IAM role per workload, bound to its service account by EKS Pod Identity,
with a policy scoped to its bucket prefixes, topics and consumer group.

`"Resource": "*"` appears only for actions AWS offers no resource scoping for (describe calls) or
under a tag condition; no statement allows `"Action": "*"`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.aws.cluster import POD_IDENTITY_PRINCIPAL
from infra.aws.kafka import group_arn, topic_arn
from infra.contract import WorkloadIdentity

Statement = dict[str, Any]


def _document(statements: list[Statement]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def s3_statements(
    bucket_arn: str, kms_key_arn: str, read: tuple[str, ...], write: tuple[str, ...]
) -> list[Statement]:
    """List the prefixes it uses, read and write objects under them, and use the bucket key."""
    prefixes = sorted(set(read) | set(write))
    if not prefixes:
        return []
    out: list[Statement] = [
        {
            "Sid": "ListOwnPrefixes",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
        }
    ]
    if read:
        out.append(
            {
                "Sid": "ReadObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": [f"{bucket_arn}/{p}*" for p in read],
            }
        )
    if write:
        out.append(
            {
                "Sid": "WriteObjects",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                "Resource": [f"{bucket_arn}/{p}*" for p in write],
            }
        )
    kms = ["kms:Decrypt"] + (["kms:GenerateDataKey", "kms:Encrypt"] if write else [])
    out.append({"Sid": "UseBucketKey", "Effect": "Allow", "Action": kms, "Resource": kms_key_arn})
    return out


def kafka_statements(
    cluster_arn: str, read: tuple[str, ...], write: tuple[str, ...], group: str | None
) -> list[Statement]:
    """Connect to the cluster, read and write its own topics, use its own consumer group."""
    if not (read or write or group):
        return []
    cluster_actions = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"]
    if write:
        cluster_actions.append("kafka-cluster:WriteDataIdempotently")
    out: list[Statement] = [
        {"Sid": "Connect", "Effect": "Allow", "Action": cluster_actions, "Resource": cluster_arn}
    ]
    if read:
        out.append(
            {
                "Sid": "ReadTopics",
                "Effect": "Allow",
                "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
                "Resource": [topic_arn(cluster_arn, t) for t in read],
            }
        )
    if write:
        out.append(
            {
                "Sid": "WriteTopics",
                "Effect": "Allow",
                "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
                "Resource": [topic_arn(cluster_arn, t) for t in write],
            }
        )
    if group:
        out.append(
            {
                "Sid": "OwnGroup",
                "Effect": "Allow",
                "Action": ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
                "Resource": group_arn(cluster_arn, group),
            }
        )
    return out


def workload_policy(
    workload: WorkloadIdentity, bucket_arn: str, kms_key_arn: str, kafka_cluster_arn: str
) -> dict[str, Any]:
    return _document(
        s3_statements(bucket_arn, kms_key_arn, workload.bucket_read, workload.bucket_write)
        + kafka_statements(
            kafka_cluster_arn, workload.topics_read, workload.topics_write, workload.group
        )
    )


def topic_admin_policy(kafka_cluster_arn: str, topics: tuple[str, ...]) -> dict[str, Any]:
    """What the topics Job needs on MSK: create and grow the platform's own topics; no data."""
    return _document(
        [
            {
                "Sid": "Connect",
                "Effect": "Allow",
                "Action": ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"],
                "Resource": kafka_cluster_arn,
            },
            {
                "Sid": "ManageOwnTopics",
                "Effect": "Allow",
                "Action": [
                    "kafka-cluster:CreateTopic",
                    "kafka-cluster:DescribeTopic",
                    "kafka-cluster:AlterTopic",
                ],
                "Resource": [topic_arn(kafka_cluster_arn, t) for t in topics],
            },
        ]
    )


def keda_policy(
    kafka_cluster_arn: str, topics: Sequence[str], groups: Sequence[str]
) -> dict[str, Any]:
    """What KEDA's operator needs to compute the lag of the consumer `groups` it scales over
    their `topics` (`infra.names.LAG_SCALED`): describe, never read data."""
    return _document(
        [
            {
                "Sid": "Connect",
                "Effect": "Allow",
                "Action": ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"],
                "Resource": kafka_cluster_arn,
            },
            {
                "Sid": "DescribeTopic",
                "Effect": "Allow",
                "Action": ["kafka-cluster:DescribeTopic"],
                "Resource": [topic_arn(kafka_cluster_arn, t) for t in topics],
            },
            {
                "Sid": "DescribeGroup",
                "Effect": "Allow",
                "Action": ["kafka-cluster:DescribeGroup"],
                "Resource": [group_arn(kafka_cluster_arn, g) for g in groups],
            },
        ]
    )


def autoscaler_policy(cluster_name: str, nodegroup_arn_prefix: str) -> dict[str, Any]:
    """cluster-autoscaler: resize only the ASGs tagged as this cluster's; describe the rest."""
    return _document(
        [
            {
                "Sid": "ResizeOwnGroups",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:SetDesiredCapacity",
                    "autoscaling:TerminateInstanceInAutoScalingGroup",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"
                    }
                },
            },
            {
                "Sid": "DescribeNoResourceScoping",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                "Resource": "*",
            },
            {
                "Sid": "DescribeOwnNodegroups",
                "Effect": "Allow",
                "Action": "eks:DescribeNodegroup",
                "Resource": f"{nodegroup_arn_prefix}/*",
            },
        ]
    )


def pod_identity_trust(cluster_name: str, namespace: str, service_account: str) -> dict[str, Any]:
    """Only Pod Identity, and only for this service account of this namespace of this cluster:
    the conditions match the session tags EKS Pod Identity sets when it assumes the role."""
    return _document(
        [
            {
                "Sid": "PodIdentityForOneServiceAccount",
                "Effect": "Allow",
                "Principal": {"Service": POD_IDENTITY_PRINCIPAL},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/eks-cluster-name": cluster_name,
                        "aws:RequestTag/kubernetes-namespace": namespace,
                        "aws:RequestTag/kubernetes-service-account": service_account,
                    }
                },
            }
        ]
    )


@dataclass(frozen=True)
class WorkloadRoleArgs:
    cluster_name: pulumi.Input[str]
    namespace: str
    service_account: str
    policy: pulumi.Input[dict[str, Any]]


class WorkloadRole(pulumi.ComponentResource):
    """An IAM role that only pods of one service account can assume, through Pod Identity."""

    def __init__(
        self, name: str, args: WorkloadRoleArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("ascent:aws:WorkloadRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=pulumi.Output.from_input(args.cluster_name).apply(
                lambda cluster: json.dumps(
                    pod_identity_trust(cluster, args.namespace, args.service_account)
                )
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=pulumi.Output.from_input(args.policy).apply(json.dumps),
            opts=child,
        )
        # Pods get credentials only if this exists when they start: whatever runs as the service
        # account must depend on it (`association`), not just on the role.
        self.association = aws.eks.PodIdentityAssociation(
            f"{name}-binding",
            cluster_name=args.cluster_name,
            namespace=args.namespace,
            service_account=args.service_account,
            role_arn=self.role.arn,
            opts=child,
        )
        self.arn = self.role.arn
        self.register_outputs({"roleArn": self.role.arn})
