"""No privileged containers and no privilege escalation in workloads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, truthy
from policies.rules._k8s import WORKLOAD_TYPES, containers


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    out = []
    for c in containers(props):
        if truthy(get(c, "securityContext", "privileged")):
            out.append(f"container {c.get('name', '?')} is privileged")
        if truthy(get(c, "securityContext", "allowPrivilegeEscalation")):
            out.append(f"container {c.get('name', '?')} allows privilege escalation")
    return out


RULE = Rule(
    name="k8s-no-privileged-containers",
    description="containers are not privileged",
    severity="critical",
    enforcement="mandatory",
    fix="remove securityContext.privileged; set allowPrivilegeEscalation false",
    types=WORKLOAD_TYPES,
    check=check,
)
