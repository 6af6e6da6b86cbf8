"""Render the plain Kubernetes objects a run declared back into manifests.

A pulumi_kubernetes resource's inputs are its manifest (apiVersion, kind, metadata, spec, ...),
so the inventory can be validated against the API schema or scanned by checkov without a cluster.
Helm releases and custom resources of operators are not plain objects and are left out.
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import rpc

from infra.offline import Inventory, Resource

# API groups served by operators, not by the Kubernetes API server itself.
CUSTOM_GROUPS = ("kafka.strimzi.io", "keda.sh", "monitoring.coreos.com")


def is_plain_object(res: Resource) -> bool:
    if not res.custom or not res.type.startswith("kubernetes:") or "helm.sh" in res.type:
        return False
    group = res.type.split(":")[1].split("/")[0]
    return group not in CUSTOM_GROUPS


SECRET_SIG = rpc._special_sig_key  # marks a secret value in deserialized inputs
SECRET_MARK = rpc._special_secret_sig


def _plain(value: Any) -> Any:
    """As the API server would see it: secrets unwrapped, whole floats (the mocks hand every
    number over as a float) back to integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_MARK:
            return _plain(value["value"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def manifest(res: Resource) -> dict[str, Any]:
    doc: dict[str, Any] = _plain(dict(res.inputs))
    metadata = doc.setdefault("metadata", {})
    metadata.setdefault("name", res.name)  # Pulumi would auto-name it from the logical name
    return doc


def manifests(inventory: Inventory) -> list[dict[str, Any]]:
    return [manifest(r) for r in inventory.resources if is_plain_object(r)]
