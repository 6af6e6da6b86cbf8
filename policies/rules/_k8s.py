"""Pod specs inside Kubernetes workload objects, for the Kubernetes rules.

Every helper takes any JSON value the engine may hand over (maps and lists as read-only proxies)
and answers with empty results for shapes it does not recognise, never with an exception (but
the SDK's UnknownValueError for a value unknown during a preview, which the analyzer reports).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import get, is_list, is_map, text

POD = "kubernetes:core/v1:Pod"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
WORKLOAD_TYPES = (POD, DEPLOYMENT, STATEFUL_SET, DAEMON_SET, JOB, CRON_JOB)
GPU = "nvidia.com/gpu"
MIG_PREFIX = "nvidia.com/mig-"  # MIG slices, e.g. nvidia.com/mig-1g.10gb (mixed strategy)


def job_spec(props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A Job's spec, or a CronJob's `jobTemplate.spec`."""
    spec = get(props, "spec")
    if is_map(spec) and "jobTemplate" in spec:
        spec = get(spec, "jobTemplate", "spec")
    return spec if is_map(spec) else None


def pod_spec(props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod spec of a Pod (`spec`), of a controller (`spec.template.spec`) or of a CronJob
    (`spec.jobTemplate.spec.template.spec`)."""
    spec: Any = job_spec(props)
    if is_map(spec) and "template" in spec:
        spec = get(spec, "template", "spec")
    return spec if is_map(spec) else None


def _maps(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if is_map(v)] if is_list(value) else []


def main_containers(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return _maps(get(pod_spec(props), "containers"))


def containers(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every container that runs: the main ones, then the init containers."""
    return main_containers(props) + _maps(get(pod_spec(props), "initContainers"))


def name(container: Mapping[str, Any]) -> str:
    """A container's (or volume's) name for a message."""
    return text(get(container, "name")) or "?"


def is_gpu_resource(resource: Any) -> bool:
    """`nvidia.com/gpu`, its shared (time-sliced) form, or a MIG slice."""
    key = text(resource)
    return key == GPU or key.startswith((f"{GPU}.", MIG_PREFIX))


def is_zero(value: Any) -> bool:
    """A quantity or id of 0 (a number, or a string such as "0")."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value == 0
    return isinstance(value, str) and value.strip() in ("0", "0.0")


def gpu_resources(container: Mapping[str, Any], kind: str) -> list[str]:
    """The GPU resources a container asks for (non-zero) under resources.requests or .limits."""
    found = get(container, "resources", kind)
    if not is_map(found):
        return []
    return [text(k) for k, v in found.items() if is_gpu_resource(k) and not is_zero(v)]


def wants_gpu(props: Mapping[str, Any]) -> bool:
    return any(gpu_resources(c, k) for c in containers(props) for k in ("requests", "limits"))


def tolerates_gpu_taint(toleration: Any) -> bool:
    """Whether a toleration matches the GPU nodes' `nvidia.com/gpu` NoSchedule taint: that key
    (operator Exists, or Equal to a value) or no key with operator Exists (which tolerates every
    taint), with no effect or NoSchedule."""
    if not is_map(toleration):
        return False
    key = get(toleration, "key")
    operator = text(get(toleration, "operator")) or "Equal"
    effect = get(toleration, "effect")
    if effect not in (None, "", "NoSchedule"):
        return False
    if key in (None, ""):
        return operator == "Exists"
    return key == GPU and operator in ("Exists", "Equal")


def gpu_tolerations(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [t for t in _maps(get(pod_spec(props), "tolerations")) if tolerates_gpu_taint(t)]


def number(value: Any) -> float | None:
    """A JSON number (the engine hands integers over as floats); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def show(value: Any) -> str:
    """A value for a message: whole floats without the `.0` the engine adds."""
    n = number(value)
    return str(int(n)) if n is not None and n.is_integer() else text(value)
