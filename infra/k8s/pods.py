"""Pod-spec building blocks every workload shares: pinned image references, the restricted
security context, GPU scheduling on a pool, resources, and the volumes a read-only root needs.

Pure functions over plain data, so the rules (a GPU pod tolerates the taint and sets the GPU
limit; nothing runs as root; images are pinned) are tested without a program run.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.contract import GpuPoolInfo, PlatformContract
from infra.k8s.settings import KAFKA_CA_DIR, workload_env
from infra.scheduling import GPU_RESOURCE, LABEL_PREFIX

RUN_AS = 10001  # the images' non-root user
DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


def plain(manifest_part: dict[str, Any] | list[dict[str, Any]]) -> Any:
    """Hand manifest data to a pulumi_kubernetes constructor as plain data: mypy checking nested
    dict literals against the SDK's TypedDict unions takes minutes and gigabytes."""
    return manifest_part


def image_ref(repository: pulumi.Input[str], tag: str) -> pulumi.Output[str]:
    """`repo:tag`, or `repo@sha256:...` for a digest; `latest` and empty tags are refused."""
    if not tag or tag == "latest":
        raise ValueError(f"image tag {tag!r}: pin an image (a commit SHA or a digest)")
    separator = "@" if DIGEST.match(tag) else ":"
    return pulumi.Output.concat(repository, separator, tag)


def pod_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def resources(cpu: str, memory: str, cpu_limit: str, gpus: int = 0) -> dict[str, Any]:
    """Requests and limits; memory limit = request (no overcommit); GPUs as a limit (the
    scheduler takes requests = limits for extended resources)."""
    requests: dict[str, Any] = {"cpu": cpu, "memory": memory}
    limits: dict[str, Any] = {"cpu": cpu_limit, "memory": memory}
    if gpus:
        requests[GPU_RESOURCE] = str(gpus)
        limits[GPU_RESOURCE] = str(gpus)
    return {"requests": requests, "limits": limits}


def gpu_placement(pools: list[GpuPoolInfo]) -> dict[str, Any]:
    """Affinity to any pool in `pools` (by its pool label) and tolerations for their taints."""
    if not pools:
        return {}
    names = sorted({p.name for p in pools})
    term = {
        "matchExpressions": [{"key": f"{LABEL_PREFIX}/pool", "operator": "In", "values": names}]
    }
    tolerations: list[dict[str, str]] = []
    for pool in pools:
        for taint in pool.taints:
            tol = {
                "key": taint["key"],
                "operator": "Equal",
                "value": taint.get("value", ""),
                "effect": taint["effect"],
            }
            if tol not in tolerations:
                tolerations.append(tol)
    required = {"nodeSelectorTerms": [term]}
    return {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}},
        "tolerations": tolerations,
    }


def scratch_volumes(shm: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`/tmp` (the root filesystem is read-only) and, for NCCL, a memory-backed `/dev/shm`."""
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    if shm:
        volumes.append({"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}})
        mounts.append({"name": "shm", "mountPath": "/dev/shm"})
    return volumes, mounts


def kafka_ca(contract: PlatformContract, namespace: str) -> tuple[list[Any], list[Any]]:
    """The brokers' CA Secret mounted where KAFKA_SSL_CA_LOCATION points (local target)."""
    secret = contract.kafka.ca_secrets.get(namespace)
    if secret is None:
        return [], []
    volume = {"name": "kafka-ca", "secret": {"secretName": secret}}
    return [volume], [{"name": "kafka-ca", "mountPath": KAFKA_CA_DIR, "readOnly": True}]


def env(contract: PlatformContract, workload: str, **settings: Any) -> list[dict[str, Any]]:
    """The contract's environment for `workload`, plus its own settings as strings."""
    own = [{"name": k, "value": str(v)} for k, v in settings.items()]
    return workload_env(contract, workload) + own


def restricted_pod(
    contract: PlatformContract,
    workload: str,
    container: dict[str, Any],
    volumes: list[dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    """A pod spec for `workload`: its service account, the restricted security context, no API
    token (no workload calls the Kubernetes API), one container, and `extra` fields."""
    return {
        "serviceAccountName": contract.service_accounts[workload].service_account,
        "securityContext": pod_security(),
        "automountServiceAccountToken": False,
        "containers": [container],
        "volumes": volumes,
        **extra,
    }


SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}
"""pulumi-kubernetes then neither waits for the object to become ready on create/update nor
reads its readiness on refresh (see `deployment`)."""


def deployment(
    name: str,
    meta: dict[str, Any],
    replicas: int | None,
    pod: dict[str, Any],
    opts: pulumi.ResourceOptions,
    **spec: Any,
) -> k8s.apps.v1.Deployment:
    """A Deployment of `pod` selecting the labels in `meta`, plus any other `spec` fields.

    `replicas=None` for a Deployment an autoscaler (HPA, KEDA) scales: the field is left out, so
    only kube-controller-manager owns `.spec.replicas` (the API server starts it at 1 and the
    autoscaler raises it to its minimum). Setting it would, under server-side apply, conflict on
    the next `up` with the controller that changed it (pulumi-kubernetes#2491), or reset the
    count to the minimum in the middle of a burst.

    `meta` may carry `SKIP_AWAIT` in its annotations; the callers say why.
    """
    labels = meta["labels"]
    body: dict[str, Any] = {} if replicas is None else {"replicas": replicas}
    return k8s.apps.v1.Deployment(
        name,
        metadata=plain(meta),
        spec=plain(
            {
                **body,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": pod},
                **spec,
            }
        ),
        opts=opts,
    )


def app_labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "ascent",
    }
