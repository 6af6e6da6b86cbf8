"""The stack's GPU nodes at maximum scale stay within `maxGpuNodes`."""

from __future__ import annotations

from policies.catalog import GPU_FAMILIES, split_instance_type
from policies.core import PackConfig, Resource, Rule, get
from policies.rules._nodegroups import NODE_GROUP, is_gpu_node_group
from policies.rules._nodepools import NODE_POOL, instance_types, is_gpu_node_pool, nodes_at_max


def gpus_by_type(types: list[str]) -> dict[str, int]:
    out = {}
    for t in types:
        try:
            fam, size = split_instance_type(t)
        except ValueError:
            continue
        info = GPU_FAMILIES.get(fam)
        out[t] = info.gpus_by_size.get(size, 0) if info else 0
    return out


def gpu_nodes_at_max(resources: list[Resource]) -> int:
    """GPU nodes at every GPU pool's maximum, a pool being GPU by its AMI type, its instance
    types or (a custom AMI) its launch template's instance type; a Karpenter NodePool's maximum
    is what its `limits` allow (one they do not bound is `karpenter-nodepool-gpu-taint-limit`'s
    and, unpriced, `stack-budget-verifiable`'s)."""
    total = 0
    for r in resources:
        if r.type == NODE_GROUP and is_gpu_node_group(r, resources):
            size = get(r.props, "scalingConfig", "maxSize")
            total += int(size) if isinstance(size, (int, float)) else 0
        elif r.type == NODE_POOL and is_gpu_node_pool(r.props):
            total += nodes_at_max(r.props, gpus_by_type(instance_types(r.props))) or 0
    return total


def check(resources: list[Resource], config: PackConfig) -> list[tuple[str, str]]:
    total = gpu_nodes_at_max(resources)
    if total <= config.max_gpu_nodes:
        return []
    return [("stack", f"{total} GPU nodes at maximum scale > maxGpuNodes {config.max_gpu_nodes}")]


RULE = Rule(
    name="stack-max-gpu-nodes",
    description="GPU nodes at maximum scale stay within maxGpuNodes",
    severity="high",
    enforcement="mandatory",
    fix="lower the pools' maxSize (a NodePool's nvidia.com/gpu limit) or raise maxGpuNodes with "
    "a budget owner's approval",
    stack_check=check,
)
