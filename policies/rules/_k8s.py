"""Pod specs inside Kubernetes workload objects, for the Kubernetes rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import get

WORKLOAD_TYPES = (
    "kubernetes:core/v1:Pod",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
)
GPU = "nvidia.com/gpu"


def pod_spec(props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    spec = get(props, "spec")
    if not isinstance(spec, Mapping):
        return None
    if "jobTemplate" in spec:
        spec = get(spec, "jobTemplate", "spec") or {}
    if "template" in spec:
        spec = get(spec, "template", "spec") or {}
    return spec if isinstance(spec, Mapping) else None


def containers(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    pod = pod_spec(props) or {}
    found = list(pod.get("containers") or []) + list(pod.get("initContainers") or [])
    return [c for c in found if isinstance(c, Mapping)]
