"""Every container sets CPU and memory requests and limits (quotas, bin packing, no noisy
neighbour on a GPU node).

Mandatory: a pod without requests is packed onto a full node, one without limits can starve
its neighbours (on a GPU node: a training job), and namespace quotas refuse both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get
from policies.rules._k8s import WORKLOAD_TYPES, containers, name


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    out = []
    for c in containers(props):
        missing = [
            f"{kind}.{res}"
            for kind in ("requests", "limits")
            for res in ("cpu", "memory")
            if get(c, "resources", kind, res) is None
        ]
        if missing:
            out.append(f"container {name(c)} lacks {', '.join(missing)}")
    return out


RULE = Rule(
    name="k8s-container-requests-limits",
    description="containers set CPU and memory requests and limits",
    severity="medium",
    enforcement="mandatory",
    fix="set resources.requests and resources.limits for cpu and memory",
    types=WORKLOAD_TYPES,
    check=check,
)
