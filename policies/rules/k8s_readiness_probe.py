"""Deployments define readiness probes: a rollout or a scale-up only sends traffic to pods
that can serve it.

Mandatory: without one a pod gets traffic the moment its process starts, and a rollout of a
broken image replaces every working pod."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get
from policies.rules._k8s import DEPLOYMENT, main_containers, name


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    return [
        f"container {name(c)} has no readinessProbe"
        for c in main_containers(props)
        if not get(c, "readinessProbe")
    ]


RULE = Rule(
    name="k8s-deployment-readiness-probe",
    description="Deployments have readiness probes",
    severity="medium",
    enforcement="mandatory",
    fix="add a readinessProbe to each container",
    types=(DEPLOYMENT,),
    check=check,
)
