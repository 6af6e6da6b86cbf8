"""Workloads run as a non-root user (`runAsNonRoot` on the pod or on every container)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, truthy
from policies.rules._k8s import WORKLOAD_TYPES, containers, pod_spec


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    pod_level = truthy(get(pod_spec(props) or {}, "securityContext", "runAsNonRoot"))
    return [
        f"container {c.get('name', '?')} may run as root (no runAsNonRoot)"
        for c in containers(props)
        if not pod_level and not truthy(get(c, "securityContext", "runAsNonRoot"))
    ]


RULE = Rule(
    name="k8s-run-as-non-root",
    description="pods set runAsNonRoot",
    severity="high",
    enforcement="mandatory",
    fix="set securityContext.runAsNonRoot true (and a non-zero runAsUser)",
    types=WORKLOAD_TYPES,
    check=check,
)
