"""What the node-group rules need to know about a node group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.catalog import GPU_FAMILIES, split_instance_type
from policies.core import get

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def instance_types(props: Mapping[str, Any]) -> list[str]:
    types = props.get("instanceTypes")
    return [t for t in types if isinstance(t, str)] if isinstance(types, list) else []


def family(instance_type: str) -> str:
    try:
        return split_instance_type(instance_type)[0]
    except ValueError:
        return instance_type


def is_gpu(props: Mapping[str, Any]) -> bool:
    if "NVIDIA" in str(props.get("amiType", "")).upper():
        return True
    return any(family(t) in GPU_FAMILIES for t in instance_types(props))


def purpose(props: Mapping[str, Any]) -> str | None:
    value = get(props, "labels", "ascent.dev/purpose")
    return value if isinstance(value, str) else None
