"""Karpenter (`nodeAutoscaler: karpenter`): GPU capacity from NodePools instead of node groups.

Cloud layer: the controller's Pod Identity role (its policy scoped to this cluster's tags), the
node role its instances run as (with an EKS access entry), the interruption queue and the
EventBridge rules feeding it (spot interruption, rebalance, instance state change, AWS Health),
and the `karpenter.sh/discovery` tags on the private subnets and the cluster security group.

Kubernetes layer: the controller's pinned chart on the system node group, one `EC2NodeClass` per
AMI family of the pools and one `NodePool` per `gpuPools` entry, carrying the same labels and
taints as the managed node groups they replace.

Every name the kubernetes layer needs (queue, node role) is derived from the cluster name, so a
split stack needs no extra cloud output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.aws.cluster import node_role
from infra.aws.identity import WorkloadRole, WorkloadRoleArgs
from infra.aws.node_pools import gpu_node_labels
from infra.catalog import gpu_family, split_instance_type
from infra.config import GpuPool
from infra.scheduling import GPU_RESOURCE, GPU_TAINT, LABEL_PREFIX

CHART = "oci://public.ecr.aws/karpenter/karpenter"
CHART_VERSION = "1.12.2"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"
DISCOVERY_TAG = "karpenter.sh/discovery"
NODECLASS_TAG = "karpenter.k8s.aws/ec2nodeclass"  # v1's tag on the instance profiles it makes
NODEPOOL_API = "karpenter.sh/v1"
NODECLASS_API = "karpenter.k8s.aws/v1"
EXPIRE_AFTER = "720h"  # nodes are replaced within 30 days: AMI and kernel updates roll in
CONSOLIDATE_AFTER = {"training": "10m", "inference": "5m"}

INTERRUPTION_EVENTS: dict[str, dict[str, list[str]]] = {
    "spot-interruption": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Spot Instance Interruption Warning"],
    },
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "instance-state-change": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
    },
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "capacity-reservation-interruption": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"],
    },
}
"""The events Karpenter drains nodes ahead of (the getting-started CloudFormation's rules)."""

AMI_ALIASES = {"al2023": "al2023@latest", "bottlerocket": "bottlerocket@latest"}
"""`amiSelectorTerms` aliases: EKS-optimized AMIs, whose NVIDIA variant Karpenter picks for GPU
instance types. `@latest` lets a new AMI drift nodes in (within the disruption budgets)."""
ROOT_DEVICE = {"al2023": "/dev/xvda", "bottlerocket": "/dev/xvdb"}

_SIZE = re.compile(r"^(\d*)xlarge$")


def queue_name(cluster_name: str) -> str:
    return f"{cluster_name}-karpenter"


def node_role_name(cluster_name: str) -> str:
    return f"{cluster_name}-karpenter-node"


def vcpus(instance_type: str) -> int:
    """vCPUs of an EC2 size by its name (`xlarge` 4, `12xlarge` 48); metal sizes vary by family
    and are refused rather than guessed."""
    _, size = split_instance_type(instance_type)
    if size == "large":
        return 2
    match = _SIZE.match(size)
    if not match:
        raise ValueError(
            f"{instance_type}: cannot derive a NodePool CPU limit for size {size!r}; "
            "use a named size (xlarge ... 48xlarge) with karpenter"
        )
    return 4 * int(match.group(1) or 1)


def pool_limits(pool: GpuPool) -> dict[str, str]:
    """The NodePool's `limits`: at most `maxSize` of its largest node, in GPUs and vCPUs."""
    cpus = max(vcpus(t) for t in pool.instance_types)
    return {GPU_RESOURCE: str(pool.max_size * pool.gpus_per_node), "cpu": str(pool.max_size * cpus)}


def capacity_types(pool: GpuPool, on_demand_fallback: bool) -> list[str]:
    """Karpenter prefers spot whenever spot is allowed: a spot training pool falls back to
    on-demand only when the stack allows it; an inference pool stays what it says."""
    if pool.capacity_type == "spot" and pool.purpose == "training" and on_demand_fallback:
        return ["spot", "on-demand"]
    return [pool.capacity_type]


def node_class_name(ami_family: str) -> str:
    return f"gpu-{ami_family}"


def node_class_spec(cluster_name: str, ami_family: str, disk_size_gb: int) -> dict[str, Any]:
    selector = [{"tags": {DISCOVERY_TAG: cluster_name}}]
    return {
        "role": node_role_name(cluster_name),
        "amiSelectorTerms": [{"alias": AMI_ALIASES[ami_family]}],
        "subnetSelectorTerms": selector,
        "securityGroupSelectorTerms": selector,
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": 1,  # pods cannot reach IMDS and the node role
            "httpTokens": "required",
        },
        "blockDeviceMappings": [
            {
                "deviceName": ROOT_DEVICE[ami_family],
                "ebs": {
                    "volumeSize": f"{disk_size_gb}Gi",
                    "volumeType": "gp3",
                    "encrypted": True,
                    "deleteOnTermination": True,
                },
            }
        ],
        "tags": {"ascent:node-pool": f"karpenter-{ami_family}"},
    }


def node_pool_spec(pool: GpuPool, on_demand_fallback: bool) -> dict[str, Any]:
    families = sorted({split_instance_type(t)[0] for t in pool.instance_types})
    arch = "arm64" if gpu_family(pool.instance_types[0]).arch == "arm64" else "amd64"
    training = pool.purpose == "training"
    disruption: dict[str, Any] = {
        # an idle training GPU is released, a busy one never moved; inference is repacked
        "consolidationPolicy": "WhenEmpty" if training else "WhenEmptyOrUnderutilized",
        "consolidateAfter": CONSOLIDATE_AFTER[pool.purpose],
        "budgets": [{"nodes": "1"}] if not training else [{"nodes": "10%"}],
    }
    return {
        "template": {
            "metadata": {"labels": gpu_node_labels(pool)},
            "spec": {
                "nodeClassRef": {
                    "group": "karpenter.k8s.aws",
                    "kind": "EC2NodeClass",
                    "name": node_class_name(pool.ami_family),
                },
                "requirements": [
                    {
                        "key": "node.kubernetes.io/instance-type",
                        "operator": "In",
                        "values": list(pool.instance_types),
                    },
                    {
                        "key": "karpenter.k8s.aws/instance-family",
                        "operator": "In",
                        "values": families,
                    },
                    {
                        "key": "karpenter.sh/capacity-type",
                        "operator": "In",
                        "values": capacity_types(pool, on_demand_fallback),
                    },
                    {"key": "kubernetes.io/arch", "operator": "In", "values": [arch]},
                ],
                "taints": [dict(GPU_TAINT)],
                "expireAfter": EXPIRE_AFTER,
            },
        },
        "limits": pool_limits(pool),
        "disruption": disruption,
        "weight": 10 if pool.capacity_type == "spot" else 1,
    }


def chart_values(cluster_name: str) -> dict[str, Any]:
    return {
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "settings": {"clusterName": cluster_name, "interruptionQueue": queue_name(cluster_name)},
        # the system node group (the chart's own affinity keeps it off Karpenter's nodes too)
        "nodeSelector": {"kubernetes.io/os": "linux", f"{LABEL_PREFIX}/pool": "system"},
        "replicas": 2,
        "controller": {
            "resources": {
                "requests": {"cpu": "250m", "memory": "512Mi"},
                "limits": {"cpu": "1", "memory": "1Gi"},
            }
        },
    }


# --- IAM ---------------------------------------------------------------------------------------


def controller_policy(
    cluster_name: str, region: str, account: str, queue_arn: str, cluster_arn: str
) -> dict[str, Any]:
    """The controller's permissions: the statements of the getting-started CloudFormation's six
    controller policies (tests/contracts/karpenter/cloudformation.yaml), in one document, each
    write scoped to resources tagged as this cluster's and its NodePools' (v1 tag names) and
    reads to the region, as upstream scopes them."""
    owned = f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}"
    req = f"aws:RequestTag/kubernetes.io/cluster/{cluster_name}"
    ec2 = f"arn:aws:ec2:{region}"
    profiles = f"arn:aws:iam::{account}:instance-profile/*"
    created = ("fleet", "instance", "volume", "network-interface", "launch-template",
               "spot-instances-request")  # fmt: skip
    launched = [f"{ec2}:*:{kind}/*" for kind in created]  # what a launch creates and tags
    tagged_on_create = {
        "StringEquals": {req: "owned", "aws:RequestTag/eks:eks-cluster-name": cluster_name},
        "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
    }
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowScopedEC2InstanceAccessActions",
                "Effect": "Allow",
                "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
                "Resource": [
                    f"{ec2}::image/*",
                    f"{ec2}::snapshot/*",
                    f"{ec2}:*:security-group/*",
                    f"{ec2}:*:subnet/*",
                    f"{ec2}:*:capacity-reservation/*",
                    f"{ec2}:*:placement-group/*",
                ],
            },
            {
                "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
                "Effect": "Allow",
                "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
                "Resource": f"{ec2}:*:launch-template/*",
                "Condition": {
                    "StringEquals": {owned: "owned"},
                    "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                },
            },
            {
                "Sid": "AllowScopedEC2InstanceActionsWithTags",
                "Effect": "Allow",
                "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
                "Resource": launched,
                "Condition": tagged_on_create,
            },
            {
                "Sid": "AllowScopedResourceCreationTagging",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": launched,
                "Condition": {
                    **tagged_on_create,
                    "StringEquals": {
                        **tagged_on_create["StringEquals"],
                        "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                    },
                },
            },
            {
                "Sid": "AllowScopedResourceTagging",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": f"{ec2}:*:instance/*",
                "Condition": {
                    "StringEquals": {owned: "owned"},
                    "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                    "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                    "ForAllValues:StringEquals": {
                        "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                    },
                },
            },
            {
                "Sid": "AllowScopedDeletion",
                "Effect": "Allow",
                "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
                "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
                "Condition": {
                    "StringEquals": {owned: "owned"},
                    "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                },
            },
            {
                "Sid": "AllowRegionalReadActions",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeCapacityReservations",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstances",
                    "ec2:DescribeInstanceTypeOfferings",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplates",
                    "ec2:DescribePlacementGroups",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSpotPriceHistory",
                    "ec2:DescribeSubnets",
                ],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
            },
            {
                "Sid": "AllowSSMReadActions",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": f"arn:aws:ssm:{region}::parameter/aws/service/*",
            },
            {
                "Sid": "AllowPricingReadActions",
                "Effect": "Allow",
                "Action": "pricing:GetProducts",
                "Resource": "*",
            },
            {
                "Sid": "AllowInterruptionQueueActions",
                "Effect": "Allow",
                "Action": [
                    "sqs:DeleteMessage",
                    "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage",
                ],
                "Resource": queue_arn,
            },
            {
                "Sid": "AllowPassingInstanceRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": f"arn:aws:iam::{account}:role/{node_role_name(cluster_name)}",
                "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
            },
            {
                "Sid": "AllowScopedInstanceProfileCreationActions",
                "Effect": "Allow",
                "Action": "iam:CreateInstanceProfile",
                "Resource": profiles,
                "Condition": {
                    "StringEquals": {
                        req: "owned",
                        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
                        "aws:RequestTag/topology.kubernetes.io/region": region,
                    },
                    "StringLike": {f"aws:RequestTag/{NODECLASS_TAG}": "*"},
                },
            },
            {
                "Sid": "AllowScopedInstanceProfileTagActions",
                "Effect": "Allow",
                "Action": "iam:TagInstanceProfile",
                "Resource": profiles,
                "Condition": {
                    "StringEquals": {
                        owned: "owned",
                        "aws:ResourceTag/topology.kubernetes.io/region": region,
                        req: "owned",
                        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
                        "aws:RequestTag/topology.kubernetes.io/region": region,
                    },
                    "StringLike": {
                        f"aws:ResourceTag/{NODECLASS_TAG}": "*",
                        f"aws:RequestTag/{NODECLASS_TAG}": "*",
                    },
                },
            },
            {
                "Sid": "AllowScopedInstanceProfileActions",
                "Effect": "Allow",
                "Action": [
                    "iam:AddRoleToInstanceProfile",
                    "iam:RemoveRoleFromInstanceProfile",
                    "iam:DeleteInstanceProfile",
                ],
                "Resource": profiles,
                "Condition": {
                    "StringEquals": {
                        owned: "owned",
                        "aws:ResourceTag/topology.kubernetes.io/region": region,
                    },
                    "StringLike": {f"aws:ResourceTag/{NODECLASS_TAG}": "*"},
                },
            },
            {
                "Sid": "AllowUnscopedInstanceProfileListAction",
                "Effect": "Allow",
                "Action": "iam:ListInstanceProfiles",
                "Resource": "*",
            },
            {
                "Sid": "AllowInstanceProfileReadActions",
                "Effect": "Allow",
                "Action": "iam:GetInstanceProfile",
                "Resource": profiles,
            },
            {
                "Sid": "AllowUnscopedEC2DescribeInstanceStatus",
                "Effect": "Allow",
                "Action": "ec2:DescribeInstanceStatus",
                "Resource": "*",
            },
            {
                "Sid": "AllowAPIServerEndpointDiscovery",
                "Effect": "Allow",
                "Action": "eks:DescribeCluster",
                "Resource": cluster_arn,
            },
            {
                "Sid": "AllowZonalShiftStatusReadOnly",
                "Effect": "Allow",
                "Action": "arc-zonal-shift:GetManagedResource",
                "Resource": cluster_arn,
            },
        ],
    }


def queue_policy(queue_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Id": "EC2InterruptionPolicy",
        "Statement": [
            {
                "Sid": "EventBridgeSends",
                "Effect": "Allow",
                "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            },
            {
                "Sid": "DenyHTTP",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


@dataclass(frozen=True)
class KarpenterCloudArgs:
    cluster_name: str  # the deterministic name (tags, queue, role names)
    eks_cluster_name: pulumi.Input[str]  # the cluster's output: resources wait for it
    cluster_arn: pulumi.Input[str]
    cluster_security_group_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    region: str


class KarpenterCloud(pulumi.ComponentResource):
    """What Karpenter needs in AWS; its chart and NodePools are the kubernetes layer's."""

    def __init__(
        self, name: str, args: KarpenterCloudArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("ascent:aws:KarpenterCloud", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            name=queue_name(args.cluster_name),
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-queue-policy",
            queue_url=self.queue.url,
            policy=self.queue.arn.apply(lambda arn: json.dumps(queue_policy(arn))),
            opts=child,
        )
        for event, pattern in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{event}",
                description=f"Karpenter interruption handling: {event}",
                event_pattern=json.dumps(pattern),
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{event}-target",
                rule=rule.name,
                target_id="KarpenterInterruptionQueueTarget",
                arn=self.queue.arn,
                opts=child,
            )
        self.node_role = node_role(name, child, node_role_name(args.cluster_name))
        self.node_access = aws.eks.AccessEntry(
            f"{name}-node-access",
            cluster_name=args.eks_cluster_name,
            principal_arn=self.node_role.arn,
            type="EC2_LINUX",
            opts=child,
        )
        for i, subnet_id in enumerate(args.private_subnet_ids):
            aws.ec2.Tag(
                f"{name}-discovery-subnet-{i}",
                resource_id=subnet_id,
                key=DISCOVERY_TAG,
                value=args.cluster_name,
                opts=child,
            )
        aws.ec2.Tag(
            f"{name}-discovery-sg",
            resource_id=args.cluster_security_group_id,
            key=DISCOVERY_TAG,
            value=args.cluster_name,
            opts=child,
        )
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        permissions = pulumi.Output.all(account, self.queue.arn, args.cluster_arn).apply(
            lambda a: controller_policy(args.cluster_name, args.region, a[0], a[1], a[2])
        )
        self.role = WorkloadRole(
            f"{name}-identity",
            WorkloadRoleArgs(args.eks_cluster_name, NAMESPACE, SERVICE_ACCOUNT, permissions),
            opts=child,
        )
        self.register_outputs({"queueUrl": self.queue.url, "roleArn": self.role.arn})


# --- Kubernetes layer --------------------------------------------------------------------------


@dataclass(frozen=True)
class KarpenterArgs:
    cluster_name: str
    gpu_pools: Sequence[GpuPool]
    on_demand_fallback: bool


class Karpenter(pulumi.ComponentResource):
    """The controller's release, then an EC2NodeClass per AMI family and a NodePool per pool."""

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ascent:aws:Karpenter", name, None, opts)
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name="karpenter",
            chart=CHART,
            version=CHART_VERSION,
            namespace=NAMESPACE,
            values=chart_values(args.cluster_name),
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        after = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        families: dict[str, int] = {}
        for pool in args.gpu_pools:
            families[pool.ami_family] = max(families.get(pool.ami_family, 0), pool.disk_size_gb)
        for family, disk in sorted(families.items()):
            k8s.apiextensions.CustomResource(
                f"{name}-nodeclass-{family}",
                api_version=NODECLASS_API,
                kind="EC2NodeClass",
                metadata={"name": node_class_name(family)},
                spec=node_class_spec(args.cluster_name, family, disk),
                opts=after,
            )
        for pool in args.gpu_pools:
            k8s.apiextensions.CustomResource(
                f"{name}-nodepool-{pool.name}",
                api_version=NODEPOOL_API,
                kind="NodePool",
                metadata={"name": pool.name},
                spec=node_pool_spec(pool, args.on_demand_fallback),
                opts=after,
            )
        self.register_outputs({"release": self.release.name})
