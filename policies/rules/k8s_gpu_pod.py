"""A pod asking for a GPU (`nvidia.com/gpu`, its time-sliced `nvidia.com/gpu.shared` or a MIG
slice `nvidia.com/mig-*`) sets it as a limit and tolerates the GPU taint: without the limit it
gets no device, without the toleration it never schedules on a GPU node.

Mandatory: either mistake leaves the pod Pending (or GPU-less) while the autoscaler may still
add GPU nodes for it. A toleration with no key and operator Exists tolerates every taint, the
GPU one included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule
from policies.rules._k8s import (
    GPU,
    WORKLOAD_TYPES,
    containers,
    gpu_resources,
    gpu_tolerations,
    name,
    wants_gpu,
)


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    out = []
    for c in containers(props):
        limited = set(gpu_resources(c, "limits"))
        for resource in gpu_resources(c, "requests"):
            if resource not in limited:
                out.append(f"container {name(c)} requests {resource} without a limit")
    if wants_gpu(props) and not gpu_tolerations(props):
        out.append(f"asks for a GPU but does not tolerate the {GPU} taint")
    return out


RULE = Rule(
    name="k8s-gpu-pod-toleration-and-limit",
    description="GPU pods set the GPU limit and tolerate the GPU taint",
    severity="high",
    enforcement="mandatory",
    fix=f"set resources.limits for the GPU resource and a toleration for key {GPU}, "
    "effect NoSchedule",
    types=WORKLOAD_TYPES,
    check=check,
)
