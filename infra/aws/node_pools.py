"""EKS managed node groups: the system pool and the GPU pools, each with its own launch template.

The decisions (AMI type, labels, taints, scale-from-zero tags) are small pure functions so they
can be tested table by table; `NodePool` only wires them into resources.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra.aws.naming import stable_suffix
from infra.catalog import gpu_family, split_instance_type
from infra.config import GpuPool
from infra.contract import DEVICE_PLUGIN_BUILTIN, LABEL_DEVICE_PLUGIN, GpuPoolInfo
from infra.scheduling import GPU_RESOURCE, GPU_TAINT, LABEL_PREFIX, gpu_pool_info, gpu_pool_labels

_EKS_EFFECT = {
    "NoSchedule": "NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
}
_ARM_CPU_FAMILY = re.compile(r"^[a-z]+\d+g")  # m7g, c6gn, r8g: Graviton
_CA = "k8s.io/cluster-autoscaler"

GPU_MODEL_LABEL = f"{LABEL_PREFIX}/gpu-model"
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"
"""cluster-autoscaler's GPU label on AWS (`GPULabel` in cloudprovider/aws): a node carrying it is
a GPU node, so the autoscaler treats it as not ready until the device plugin advertises
`nvidia.com/gpu`, instead of adding more nodes for the pending GPU pods meanwhile. Its value is
the GPU type (what `--gpu-total` limits and the autoscaler's metrics count by)."""
MIXED_ACCELERATOR = "nvidia-mixed"
"""The accelerator value of a pool whose instance types carry different GPU models: a node group
labels every node alike, so it cannot name the model of each."""
_ACCELERATORS = {  # cluster-autoscaler's spelling (availableGPUTypes, cloudprovider/aws)
    "T4": "nvidia-tesla-t4",
    "V100": "nvidia-tesla-v100",
    "A100": "nvidia-tesla-a100",
    "A10G": "nvidia-a10g",
    "L4": "nvidia-l4",
    "L40S": "nvidia-l40s",
}


def ami_type_for(instance_type: str, ami_family: str = "al2023") -> str:
    """The EKS AMI type for a GPU instance type: NVIDIA AL2023 (default) or Bottlerocket NVIDIA,
    x86_64 or ARM_64 by the family's CPU. A non-GPU type raises ValueError naming it."""
    arch = "ARM_64" if gpu_family(instance_type).arch == "arm64" else "x86_64"
    if ami_family == "al2023":
        return f"AL2023_{arch}_NVIDIA"
    if ami_family == "bottlerocket":
        return f"BOTTLEROCKET_{arch}_NVIDIA"
    raise ValueError(f"unknown AMI family {ami_family!r} (al2023 or bottlerocket)")


def cpu_ami_type(instance_type: str) -> str:
    family, _ = split_instance_type(instance_type)
    return "AL2023_ARM_64_STANDARD" if _ARM_CPU_FAMILY.match(family) else "AL2023_x86_64_STANDARD"


def root_device_name(ami_type: str) -> str:
    """The volume the launch template sizes: Bottlerocket keeps images on its data volume."""
    return "/dev/xvdb" if ami_type.startswith("BOTTLEROCKET") else "/dev/xvda"


def accelerator(models: Sequence[str]) -> str:
    """The `k8s.amazonaws.com/accelerator` value for a pool's GPU models: cluster-autoscaler's
    name for the one model (`nvidia-l40s`; `nvidia-<model>` for models it does not list), or
    `nvidia-mixed` when the pool mixes models."""
    distinct = sorted(set(models))
    if len(distinct) != 1:
        return MIXED_ACCELERATOR
    return _ACCELERATORS.get(distinct[0], f"nvidia-{distinct[0].lower()}")


def gpu_node_labels(pool: GpuPool) -> dict[str, str]:
    """The labels a GPU pool's nodes carry on EKS: the shared scheduling labels, where the
    `gpu-model` label is only set when all instance types share the model, plus the autoscaler's
    accelerator label and, for an OS that brings its own device plugin, `ascent.dev/device-plugin:
    builtin` (the device plugin DaemonSet stays off those nodes)."""
    labels = dict(gpu_pool_labels(pool))
    labels[ACCELERATOR_LABEL] = accelerator(pool.gpu_models)
    if pool.device_plugin_builtin:
        labels[LABEL_DEVICE_PLUGIN] = DEVICE_PLUGIN_BUILTIN
    return labels


def aws_gpu_pool_info(pool: GpuPool) -> GpuPoolInfo:
    """What the Kubernetes layer is told about a pool: the labels its nodes really carry."""
    return gpu_pool_info(pool, gpu_node_labels(pool))


def eks_taint(taint: dict[str, str]) -> dict[str, str]:
    """A Kubernetes taint in the EKS API's spelling."""
    return {"key": taint["key"], "value": taint["value"], "effect": _EKS_EFFECT[taint["effect"]]}


def autoscaler_tags(
    cluster_name: str,
    labels: dict[str, str],
    taints: list[dict[str, str]],
    gpus: int,
    disk_gb: int,
) -> dict[str, str]:
    """ASG tags for cluster-autoscaler: auto-discovery, plus the node template it needs to scale a
    pool up from zero (it cannot read labels, taints or GPUs off a node that does not exist)."""
    template = f"{_CA}/node-template"
    tags = {
        f"{_CA}/enabled": "true",
        f"{_CA}/{cluster_name}": "owned",
        f"{template}/resources/ephemeral-storage": f"{disk_gb}G",
    }
    tags.update({f"{template}/label/{k}": v for k, v in labels.items()})
    tags.update({f"{template}/taint/{t['key']}": f"{t['value']}:{t['effect']}" for t in taints})
    if gpus:
        tags[f"{template}/resources/{GPU_RESOURCE}"] = str(gpus)
    return tags


_NUMBERED_GPU_LABELS = (
    f"{LABEL_PREFIX}/pool",
    f"{LABEL_PREFIX}/purpose",
    f"{LABEL_PREFIX}/capacity-type",
    GPU_MODEL_LABEL,
    "nvidia.com/gpu.present",
)
"""The labels of every GPU pool while its ASG tag resources were numbered (in the sorted order of
the tag keys); frozen here: it says what an upgraded stack's state holds."""


def tag_resource_suffix(key: str) -> str:
    """The logical-name suffix of the ASG tag `key` (its slug without the prefix every autoscaler
    tag shares, and a hash): adding or removing a tag never renames, and so replaces, another."""
    return stable_suffix(key, drop_prefix=f"{_CA}/")


@dataclass(frozen=True)
class NodePoolArgs:
    cluster_name: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    instance_types: list[str]
    capacity_type: str  # on-demand | spot
    min_size: int
    max_size: int
    desired_size: int
    disk_size_gb: int
    ami_type: str
    labels: dict[str, str]
    taints: list[dict[str, str]] = field(default_factory=list)
    asg_tags: dict[str, str] = field(default_factory=dict)
    # the ASG tags as the previous release declared them, named by their index in this sorted
    # list: each tag still there is aliased to its old resource, so upgrading a stack renames the
    # tag resources in place instead of creating new ones and deleting the old (which would delete
    # the very tags just written)
    legacy_asg_tag_keys: tuple[str, ...] = ()


def gpu_pool_args(
    pool: GpuPool,
    cluster_name: str,
    eks_cluster_name: pulumi.Input[str],
    node_role_arn: pulumi.Input[str],
    subnet_ids: Sequence[pulumi.Input[str]],
) -> NodePoolArgs:
    labels = gpu_node_labels(pool)
    taints = [GPU_TAINT]
    legacy = autoscaler_tags(
        cluster_name, dict.fromkeys(_NUMBERED_GPU_LABELS, ""), taints, 1, pool.disk_size_gb
    )
    return NodePoolArgs(
        cluster_name=eks_cluster_name,  # the cluster's output: the node group waits for it
        node_role_arn=node_role_arn,
        subnet_ids=subnet_ids,
        instance_types=pool.instance_types,
        capacity_type=pool.capacity_type,
        min_size=pool.min_size,
        max_size=pool.max_size,
        desired_size=pool.initial_size,
        disk_size_gb=pool.disk_size_gb,
        ami_type=ami_type_for(pool.instance_types[0], pool.ami_family),
        labels=labels,
        taints=taints,
        asg_tags=autoscaler_tags(
            cluster_name, labels, taints, pool.gpus_per_node, pool.disk_size_gb
        ),
        legacy_asg_tag_keys=tuple(sorted(legacy)),
    )


class NodePool(pulumi.ComponentResource):
    """A managed node group over a launch template: IMDSv2 only (hop limit 1), encrypted gp3, tags
    propagated."""

    node_group: aws.eks.NodeGroup

    def __init__(self, name: str, args: NodePoolArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ascent:aws:NodePool", name, None, opts)
        if not 0 <= args.min_size <= args.desired_size <= args.max_size:
            raise ValueError(
                f"node pool {name}: need 0 <= min ({args.min_size}) <= desired "
                f"({args.desired_size}) <= max ({args.max_size})"
            )
        child = pulumi.ResourceOptions(parent=self)
        tags = {"ascent:node-pool": name}
        template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description=f"Ascent node pool {name}",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",  # IMDSv2 only
                # 1: pods (a hop behind the node) cannot reach IMDS and the node role; they get
                # AWS credentials from EKS Pod Identity, host-network add-ons are on the node
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=root_device_name(args.ami_type),
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=args.disk_size_gb,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags)
                for kind in ("instance", "volume", "network-interface")
            ],
            update_default_version=True,
            opts=child,
        )
        capacity = args.capacity_type.replace("-", "_").upper()  # ON_DEMAND | SPOT
        self.node_group = aws.eks.NodeGroup(
            f"{name}-ng",
            cluster_name=args.cluster_name,
            node_group_name_prefix=f"{name}-{args.capacity_type}-",
            node_role_arn=args.node_role_arn,
            subnet_ids=args.subnet_ids,
            instance_types=args.instance_types,
            capacity_type=capacity,
            ami_type=args.ami_type,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=args.min_size, max_size=args.max_size, desired_size=args.desired_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            labels=args.labels,
            taints=[aws.eks.NodeGroupTaintArgs(**eks_taint(t)) for t in args.taints],
            tags={**tags, **args.asg_tags},
            opts=pulumi.ResourceOptions(
                parent=self,
                # cluster-autoscaler owns the size once the pool exists
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )
        # Managed node groups do not copy their tags to the Auto Scaling group they create, and
        # cluster-autoscaler reads the ASG: tag it directly.
        asg_name = self.node_group.resources.apply(
            lambda rs: rs[0].autoscaling_groups[0].name if rs else ""  # type: ignore[index]
        )
        # One resource per tag, named by its key (never by its position in the list).
        legacy = {key: i for i, key in enumerate(args.legacy_asg_tag_keys)}
        for key, value in sorted(args.asg_tags.items()):
            old = [pulumi.Alias(name=f"{name}-asg-tag-{legacy[key]}")] if key in legacy else []
            aws.autoscaling.Tag(
                f"{name}-asg-tag-{tag_resource_suffix(key)}",
                autoscaling_group_name=asg_name,
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=pulumi.ResourceOptions(parent=self, aliases=old),
            )
        self.register_outputs({"nodeGroupArn": self.node_group.arn})
