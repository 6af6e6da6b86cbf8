"""Every container runs under a seccomp profile, RuntimeDefault or Localhost: its own
`securityContext.seccompProfile`, else the pod's (the Pod Security Standards' restricted
profile).

Mandatory: without one the container runs Unconfined and can make every system call the kernel
offers, the usual way out of a container. A container's own profile overrides the pod's, so an
Unconfined container undoes a RuntimeDefault pod.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, text
from policies.rules._k8s import WORKLOAD_TYPES, containers, name, pod_spec

ALLOWED = ("RuntimeDefault", "Localhost")


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    pod = get(pod_spec(props), "securityContext", "seccompProfile", "type")
    out = []
    for c in containers(props):
        own = get(c, "securityContext", "seccompProfile", "type")
        profile = own if own is not None else pod
        if profile is None:
            out.append(f"container {name(c)} has no seccomp profile (runs Unconfined)")
        elif profile not in ALLOWED:
            out.append(
                f"container {name(c)} has seccomp profile {text(profile)}, "
                "not RuntimeDefault or Localhost"
            )
    return out


RULE = Rule(
    name="k8s-seccomp-profile",
    description="containers run under the RuntimeDefault or a Localhost seccomp profile",
    severity="high",
    enforcement="mandatory",
    fix="set securityContext.seccompProfile.type RuntimeDefault on the pod (and no container "
    "override but Localhost)",
    types=WORKLOAD_TYPES,
    check=check,
)
