"""The stack's GPU nodes at maximum scale stay within `maxGpuNodes`."""

from __future__ import annotations

from policies.core import PackConfig, Resource, Rule, get
from policies.rules._nodegroups import NODE_GROUP, is_gpu_node_group


def gpu_nodes_at_max(resources: list[Resource]) -> int:
    """GPU nodes at every GPU pool's maximum, a pool being GPU by its AMI type, its instance
    types or (a custom AMI) its launch template's instance type."""
    total = 0
    for r in resources:
        if r.type == NODE_GROUP and is_gpu_node_group(r, resources):
            size = get(r.props, "scalingConfig", "maxSize")
            total += int(size) if isinstance(size, (int, float)) else 0
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
    fix="lower the pools' maxSize or raise maxGpuNodes with a budget owner's approval",
    stack_check=check,
)
