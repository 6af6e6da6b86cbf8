"""No privileged containers and no privilege escalation in workloads.

Mandatory: a privileged container is root on the node. `allowPrivilegeEscalation` defaults to
true, so a container that does not set it to false can gain privileges through setuid binaries;
only an explicit false passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, falsy, get, truthy
from policies.rules._k8s import WORKLOAD_TYPES, containers, name


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    out = []
    for c in containers(props):
        if truthy(get(c, "securityContext", "privileged")):
            out.append(f"container {name(c)} is privileged")
        escalation = get(c, "securityContext", "allowPrivilegeEscalation")
        if not falsy(escalation):
            why = "unset, which means true" if escalation is None else "set"
            out.append(f"container {name(c)} allows privilege escalation ({why})")
    return out


RULE = Rule(
    name="k8s-no-privileged-containers",
    description="containers are not privileged and cannot escalate privileges",
    severity="critical",
    enforcement="mandatory",
    fix="remove securityContext.privileged; set securityContext.allowPrivilegeEscalation false "
    "on every container",
    types=WORKLOAD_TYPES,
    check=check,
)
