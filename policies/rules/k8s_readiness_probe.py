"""Deployments define readiness probes: a rollout or a scale-up only sends traffic to pods
that can serve it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule
from policies.rules._k8s import containers, pod_spec


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    pod = pod_spec(props) or {}
    main = [c for c in containers(props) if c in (pod.get("containers") or [])]
    return [
        f"container {c.get('name', '?')} has no readinessProbe"
        for c in main
        if not c.get("readinessProbe")
    ]


RULE = Rule(
    name="k8s-deployment-readiness-probe",
    description="Deployments have readiness probes",
    severity="medium",
    enforcement="mandatory",
    fix="add a readinessProbe to each container",
    types=("kubernetes:apps/v1:Deployment",),
    check=check,
)
