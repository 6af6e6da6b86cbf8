"""What the NodePool rules and the cost estimate need to know about a Karpenter `NodePool`: its
instance types and capacity types (requirements), purpose (label), taints and `limits`.

Properties come as the engine's read-only proxies: read through the `policies.core` helpers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from policies.core import get, is_list
from policies.rules._nodegroups import GPU_TAINT_EFFECTS, GPU_TAINT_KEY, family, is_gpu_family

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
INSTANCE_TYPE = "node.kubernetes.io/instance-type"
CAPACITY_TYPE = "karpenter.sh/capacity-type"
_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(k|Ki)?$")
_SIZE = re.compile(r"^(\d*)xlarge$")


def requirement(props: Mapping[str, Any], key: str) -> list[str]:
    """The `In` values of the template's requirement on `key` (empty: not restricted)."""
    reqs = get(props, "spec", "template", "spec", "requirements")
    for r in reqs if is_list(reqs) else []:
        values = get(r, "values")
        if get(r, "key") == key and get(r, "operator") == "In" and is_list(values):
            return [v for v in values if isinstance(v, str)]
    return []


def instance_types(props: Mapping[str, Any]) -> list[str]:
    return requirement(props, INSTANCE_TYPE)


def capacity_types(props: Mapping[str, Any]) -> list[str]:
    """What it may launch; a NodePool without the requirement gets on-demand only."""
    return requirement(props, CAPACITY_TYPE) or ["on-demand"]


def purpose(props: Mapping[str, Any]) -> str | None:
    value = get(props, "spec", "template", "metadata", "labels", "ascent.dev/purpose")
    return value if isinstance(value, str) else None


def has_gpu_taint(props: Mapping[str, Any]) -> bool:
    taints = get(props, "spec", "template", "spec", "taints")
    return any(
        get(t, "key") == GPU_TAINT_KEY and get(t, "effect") in GPU_TAINT_EFFECTS
        for t in (taints if is_list(taints) else [])
    )


def limit(props: Mapping[str, Any], resource: str) -> float | None:
    """A `limits` entry as a number (`16`, "192", "1k"); None when unset or not understood."""
    value = get(props, "spec", "limits", resource)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = _QUANTITY.match(value) if isinstance(value, str) else None
    if not match:
        return None
    scale = {"k": 1000, "Ki": 1024}.get(match[2] or "", 1)
    return float(match[1]) * scale


def is_gpu_node_pool(props: Mapping[str, Any]) -> bool:
    """GPU by its instance types, its GPU limit or its GPU taint."""
    return (
        any(map(is_gpu_family, instance_types(props)))
        or limit(props, GPU_TAINT_KEY) is not None
        or has_gpu_taint(props)
    )


def vcpus(instance_type: str) -> int | None:
    """vCPUs by the EC2 size name (`xlarge` 4, `12xlarge` 48); None for metal and the like."""
    size = instance_type.split(".", 1)[1] if "." in instance_type else ""
    if size == "large":
        return 2
    match = _SIZE.match(size)
    return 4 * int(match[1] or 1) if match else None


def nodes_at_max(props: Mapping[str, Any], gpus: Mapping[str, int]) -> int | None:
    """The most nodes its `limits` let it launch: by GPUs (the fewest per node of its types) and
    by CPU (the fewest vCPUs), whichever binds; None when neither bounds it."""
    types = instance_types(props)
    bounds: list[int] = []
    gpu_limit = limit(props, GPU_TAINT_KEY)
    per_node = [gpus.get(t, 0) for t in types]
    if gpu_limit is not None and per_node and min(per_node) > 0:
        bounds.append(math.floor(gpu_limit / min(per_node)))
    cpu_limit = limit(props, "cpu")
    cpus = [vcpus(t) for t in types]
    if cpu_limit is not None and cpus and all(cpus):
        bounds.append(math.floor(cpu_limit / min(c for c in cpus if c)))
    return min(bounds) if bounds else None


def node_class_name(props: Mapping[str, Any]) -> str | None:
    value = get(props, "spec", "template", "spec", "nodeClassRef", "name")
    return value if isinstance(value, str) else None


def families(props: Mapping[str, Any]) -> list[str]:
    return sorted({family(t) for t in instance_types(props)})
