"""Workloads run as a non-root user: every container's effective `runAsNonRoot` (its own, else
the pod's) is true, and no `runAsUser` is 0, on the pod or on any container.

Mandatory: root in a container is one kernel or runtime bug from root on the node. A container's
own setting overrides the pod's, so `runAsNonRoot: false` on a container undoes the pod's true.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, falsy, get, truthy
from policies.rules._k8s import WORKLOAD_TYPES, containers, is_zero, name, pod_spec


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    pod = get(pod_spec(props), "securityContext")
    out = []
    if is_zero(get(pod, "runAsUser")):
        out.append("pod runs as root (securityContext.runAsUser 0)")
    for c in containers(props):
        own = get(c, "securityContext", "runAsNonRoot")
        if is_zero(get(c, "securityContext", "runAsUser")):
            out.append(f"container {name(c)} runs as root (securityContext.runAsUser 0)")
        elif falsy(own):
            out.append(f"container {name(c)} may run as root (runAsNonRoot false)")
        elif not truthy(own if own is not None else get(pod, "runAsNonRoot")):
            out.append(f"container {name(c)} may run as root (no runAsNonRoot)")
    return out


RULE = Rule(
    name="k8s-run-as-non-root",
    description="containers run as a non-root user",
    severity="high",
    enforcement="mandatory",
    fix="set securityContext.runAsNonRoot true (and a non-zero runAsUser) on the pod, and "
    "override neither on a container",
    types=WORKLOAD_TYPES,
    check=check,
)
