"""What the node-group rules need to know about a node group: its instance types (on the node
group, or only in its launch template), whether it is a GPU pool, its taints and purpose.

Properties come as the engine's read-only proxies: everything here reads them through the
`policies.core` helpers and never assumes `dict` / `list`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.catalog import GPU_FAMILIES, split_instance_type
from policies.core import Resource, get, is_list, text

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
GPU_TAINT_KEY = "nvidia.com/gpu"
# A taint that keeps non-GPU pods off the node: NoSchedule, or NoExecute (which also evicts).
GPU_TAINT_EFFECTS = frozenset(("NO_SCHEDULE", "NoSchedule", "NO_EXECUTE", "NoExecute"))


def instance_types(props: Mapping[str, Any]) -> list[str]:
    """The node group's own `instanceTypes` (the strings among them)."""
    types = get(props, "instanceTypes")
    return [t for t in types if isinstance(t, str)] if is_list(types) else []


def family(instance_type: str) -> str:
    try:
        return split_instance_type(instance_type)[0]
    except ValueError:
        return instance_type


def is_gpu_family(instance_type: str) -> bool:
    return family(instance_type) in GPU_FAMILIES


def is_gpu_ami(ami_type: Any) -> bool:
    """The EKS AMI types with NVIDIA drivers: AL2023_*_NVIDIA, BOTTLEROCKET_*_NVIDIA, AL2_*_GPU."""
    ami = ami_type.upper() if isinstance(ami_type, str) else ""
    return "NVIDIA" in ami or ami.endswith("_GPU")


def is_gpu(props: Mapping[str, Any]) -> bool:
    """A GPU pool as far as the node group alone says: a GPU AMI type or a GPU instance type."""
    return is_gpu_ami(get(props, "amiType")) or any(map(is_gpu_family, instance_types(props)))


def has_gpu_taint(props: Mapping[str, Any]) -> bool:
    taints = get(props, "taints")
    for t in taints if is_list(taints) else []:
        effect = get(t, "effect")
        if (
            get(t, "key") == GPU_TAINT_KEY
            and isinstance(effect, str)
            and effect in GPU_TAINT_EFFECTS
        ):
            return True
    return False


def purpose(props: Mapping[str, Any]) -> str | None:
    value = get(props, "labels", "ascent.dev/purpose")
    return value if isinstance(value, str) else None


def launch_template_of(node_group: Resource, resources: list[Resource]) -> Resource | None:
    """The launch template a node group runs: by the engine's property dependency on
    `launchTemplate`, else by `launchTemplate.name` against the template's `name`."""
    templates = [r for r in resources if r.type == LAUNCH_TEMPLATE]
    for lt in templates:
        if node_group.refers_to("launchTemplate", lt):
            return lt
    name = get(node_group.props, "launchTemplate", "name")
    if isinstance(name, str) and name:
        for lt in templates:
            if get(lt.props, "name") == name:
                return lt
    return None


def template_instance_type(node_group: Resource, resources: list[Resource]) -> str | None:
    """The instance type a node group gets only from its launch template (None when the node
    group names its own `instanceTypes`, or the template names none)."""
    if instance_types(node_group.props):
        return None
    lt = launch_template_of(node_group, resources)
    value = get(lt.props, "instanceType") if lt is not None else None
    return text(value) if isinstance(value, str) and value else None


def node_group_instance_types(node_group: Resource, resources: list[Resource]) -> list[str]:
    """Every instance type the node group may launch: its own, or its launch template's."""
    own = instance_types(node_group.props)
    if own:
        return own
    from_template = template_instance_type(node_group, resources)
    return [from_template] if from_template else []


def is_gpu_node_group(node_group: Resource, resources: list[Resource]) -> bool:
    """A GPU pool, also when only its launch template's instance type says so (CUSTOM AMI)."""
    return is_gpu(node_group.props) or any(
        map(is_gpu_family, node_group_instance_types(node_group, resources))
    )
