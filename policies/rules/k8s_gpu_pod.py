"""A pod asking for `nvidia.com/gpu` sets it as a limit and tolerates the GPU taint: without the
limit it gets no device, without the toleration it never schedules on a GPU node."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get
from policies.rules._k8s import GPU, WORKLOAD_TYPES, containers, pod_spec


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    out, wants = [], False
    for c in containers(props):
        requested = get(c, "resources", "requests", GPU) is not None
        limited = get(c, "resources", "limits", GPU) is not None
        wants = wants or requested or limited
        if requested and not limited:
            out.append(f"container {c.get('name', '?')} requests {GPU} without a limit")
    tolerations = (pod_spec(props) or {}).get("tolerations") or []
    if wants and not any(isinstance(t, Mapping) and t.get("key") == GPU for t in tolerations):
        out.append(f"asks for {GPU} but does not tolerate the {GPU} taint")
    return out


RULE = Rule(
    name="k8s-gpu-pod-toleration-and-limit",
    description="GPU pods set the GPU limit and tolerate the GPU taint",
    severity="high",
    enforcement="mandatory",
    fix=f"set resources.limits[{GPU}] and a toleration for key {GPU}, effect NoSchedule",
    types=WORKLOAD_TYPES,
    check=check,
)
