"""No bare Pods: a Pod that no controller owns (no `metadata.ownerReferences` entry with
`controller: true`) is run by a Deployment, StatefulSet, DaemonSet or Job instead.

Mandatory: nothing recreates a bare Pod when its node goes, and on this platform nodes go all
the time (spot GPU nodes are reclaimed, the autoscaler removes idle nodes, upgrades drain
them); the stack then records a Pod that no longer runs. A Job or a Deployment runs the same
pod and restarts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, is_list, is_map, truthy
from policies.rules._k8s import POD


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    owners = get(props, "metadata", "ownerReferences")
    for owner in owners if is_list(owners) else []:
        if is_map(owner) and truthy(get(owner, "controller")):
            return []
    return ["a bare Pod: no controller recreates it when its node goes away"]


RULE = Rule(
    name="k8s-no-bare-pods",
    description="Pods are run by a controller (Deployment, StatefulSet, DaemonSet, Job)",
    severity="medium",
    enforcement="mandatory",
    fix="run the pod as a Job (batch) or a Deployment / StatefulSet (long-running)",
    types=(POD,),
    check=check,
)
