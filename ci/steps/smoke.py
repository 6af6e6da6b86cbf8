"""`smoke`: wait for the serving and feature-stage rollouts with the `kubernetes` client, then
call the inference service's readiness route and one inference, through the API server's
service proxy.

The kubeconfig is the usual one (`KUBECONFIG`, `--context`), or the in-cluster service account.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from ci.shell import StepFailed, say
from infra.k8s.features import NAME as FEATURES
from infra.k8s.inference import NAME as INFERENCE
from infra.k8s.scorer import NAME as SCORER
from infra.names import NS_SERVING, NS_TRAINING
from workloads.inference.settings import MODEL_NAME

STEP = "smoke"
DEPLOYMENTS = ((NS_SERVING, INFERENCE), (NS_SERVING, SCORER), (NS_TRAINING, FEATURES))
PROXY = f"/api/v1/namespaces/{NS_SERVING}/services/{INFERENCE}:http/proxy"


@dataclass(frozen=True)
class Cluster:
    apps: client.AppsV1Api
    core: client.CoreV1Api


def connect(step: str, context: str | None = None) -> Cluster:
    try:
        config.load_kube_config(context=context)
    except (ConfigException, FileNotFoundError, TypeError) as kube_exc:
        try:
            config.load_incluster_config()
        except ConfigException:
            raise StepFailed(
                step, f"no Kubernetes access: no usable kubeconfig ({kube_exc}) and not in a pod"
            ) from kube_exc
    return Cluster(client.AppsV1Api(), client.CoreV1Api())


def rollout_complete(dep: client.V1Deployment) -> bool:
    """`kubectl rollout status`'s rule: the new spec observed, every replica updated and
    available, no old replica left."""
    want = dep.spec.replicas if dep.spec.replicas is not None else 1
    status = dep.status
    return (
        (status.observed_generation or 0) >= (dep.metadata.generation or 0)
        and (status.updated_replicas or 0) >= want
        and (status.replicas or 0) <= (status.updated_replicas or 0)
        and (status.available_replicas or 0) >= (status.updated_replicas or 0)
    )


def wait_for_rollouts(cluster: Cluster, timeout_s: float, poll_s: float = 5.0) -> list[str]:
    """The deployments still rolling out when the time is up (empty: all done)."""
    deadline = time.monotonic() + timeout_s
    pending = list(DEPLOYMENTS)
    while True:
        pending = [
            (ns, name)
            for ns, name in pending
            if not rollout_complete(cluster.apps.read_namespaced_deployment(name, ns))
        ]
        if not pending or time.monotonic() >= deadline:
            return [f"{ns}/{name}" for ns, name in pending]
        say(STEP, f"waiting for {', '.join(f'{ns}/{name}' for ns, name in pending)}")
        time.sleep(poll_s)


def infer_body(metadata: dict[str, Any]) -> dict[str, Any]:
    """One all-zero row for the model's first input, as its metadata describes it."""
    first = metadata["inputs"][0]
    width = int(first["shape"][-1])
    return {
        "inputs": [
            {
                "name": first["name"],
                "shape": [1, width],
                "datatype": first["datatype"],
                "data": [0.0] * width,
            }
        ]
    }


def call(cluster: Cluster, method: str, path: str, body: Any = None) -> Any:
    response = cluster.core.api_client.call_api(
        f"{PROXY}/{path}",
        method,
        header_params={"Accept": "application/json", "Content-Type": "application/json"},
        body=body,
        auth_settings=["BearerToken"],
        _preload_content=False,
        _return_http_data_only=True,
        _request_timeout=30,
    )
    return json.loads(response.data or b"null")


def smoke(cluster: Cluster, timeout_s: float = 600) -> int:
    names = ", ".join(f"{ns}/{name}" for ns, name in DEPLOYMENTS)
    say(STEP, f"rollouts of {names} (up to {timeout_s:.0f} s)")
    try:
        pending = wait_for_rollouts(cluster, timeout_s)
        if pending:
            print(f"{STEP}: rollout not complete: {', '.join(pending)}")
            return 1
        say(STEP, f"readiness of {INFERENCE}")
        call(cluster, "GET", "v2/health/ready")
        metadata = call(cluster, "GET", f"v2/models/{MODEL_NAME}")
        say(STEP, f"one inference on {MODEL_NAME}")
        result = call(cluster, "POST", f"v2/models/{MODEL_NAME}/infer", infer_body(metadata))
    except ApiException as exc:
        print(f"{STEP}: {exc.status} {exc.reason}: {exc.body}")
        return 1
    if not result or not result.get("outputs"):
        print(f"{STEP}: the inference returned no outputs: {result!r}")
        return 1
    say(STEP, f"passed: {json.dumps(result['outputs'][0])[:200]}")
    return 0
