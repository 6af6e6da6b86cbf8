"""Pods do not mount a Kubernetes API token (`automountServiceAccountToken: false`) unless they
call the API.

Advisory, not mandatory: whether a pod calls the Kubernetes API (an operator, a controller, a
job that reads a ConfigMap through the API) is not visible in its spec, so the pack cannot tell
a needed token from a forgotten one; what the token can do is bounded by the service account's
RBAC. Unset means mounted (unless the ServiceAccount turns it off), so the note asks every pod
to say false, or to keep true deliberately. AWS credentials (IRSA, EKS Pod Identity) come
through their own projected token and keep working with false.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, falsy, get, truthy
from policies.rules._k8s import WORKLOAD_TYPES, pod_spec


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    pod = pod_spec(props)
    if pod is None:
        return []
    mount = get(pod, "automountServiceAccountToken")
    if falsy(mount):
        return []
    why = "true" if truthy(mount) else "unset, which mounts it"
    return [f"pod mounts a service account token (automountServiceAccountToken {why})"]


RULE = Rule(
    name="k8s-service-account-token-not-mounted",
    description="pods that do not call the Kubernetes API mount no service account token",
    severity="low",
    enforcement="advisory",
    fix="set automountServiceAccountToken false in the pod spec, unless it calls the API",
    types=WORKLOAD_TYPES,
    check=check,
)
