"""Pods stay out of the node: no host network, PID or IPC namespace, no hostPath volume, no
host port (the Pod Security Standards' baseline profile).

Mandatory: each one reaches the node itself: its network and the metadata endpoint, every
process on it, its shared memory, its filesystem (the kubelet's credentials, the container
runtime's socket), or its ports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, is_list, is_map, truthy
from policies.rules._k8s import WORKLOAD_TYPES, containers, is_zero, name, pod_spec, show

NAMESPACES = {"hostNetwork": "network", "hostPID": "process", "hostIPC": "IPC"}


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    pod = pod_spec(props)
    out = [
        f"pod shares the host's {what} namespace ({field} true)"
        for field, what in NAMESPACES.items()
        if truthy(get(pod, field))
    ]
    volumes = get(pod, "volumes")
    for v in volumes if is_list(volumes) else []:
        if is_map(v) and get(v, "hostPath") is not None:
            path = show(get(v, "hostPath", "path")) or "?"
            out.append(f"volume {name(v)} mounts the host path {path} (hostPath)")
    for c in containers(props):
        ports = get(c, "ports")
        for p in ports if is_list(ports) else []:
            port = get(p, "hostPort")
            if port is not None and not is_zero(port):
                out.append(f"container {name(c)} binds host port {show(port)}")
    return out


RULE = Rule(
    name="k8s-no-host-access",
    description="pods use no host namespace, hostPath volume or host port",
    severity="critical",
    enforcement="mandatory",
    fix="remove hostNetwork/hostPID/hostIPC, hostPath volumes (use emptyDir, a PVC, a "
    "ConfigMap or a Secret) and hostPort (use a Service)",
    types=WORKLOAD_TYPES,
    check=check,
)
