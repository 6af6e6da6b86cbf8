"""The inference service: a Deployment of the Open Inference Protocol server, its Service, a
PodDisruptionBudget, an HPA, and (with monitoring) a ServiceMonitor.

Autoscaling: CPU utilisation always; with monitoring (Prometheus plus prometheus-adapter) also
the in-flight requests per pod, which tracks load before CPU does. Scale-up is fast (double, or
+4 pods, every 30 s), scale-down slow (a 5-minute window, at most half the pods a minute), so a
burst does not make the replica count flap. The HPA alone owns the replica count: the
Deployment sets no `spec.replicas` (see `infra.k8s.pods.deployment`).

Not awaited (`pulumi.com/skipAwait`): pulumi-kubernetes would hold `pulumi up` until the
Deployment is Available, and the Service until its Endpoints target pods, 10 minutes each by
default. The server answers 503 on `/v2/health/ready` until a model is published, and on a fresh
stack none is (the first training run publishes it, after `up`); a GPU server may also wait for
its pool's nodes. So the first `up` would fail on a healthy stack. Skipping the await is what
pulumi-kubernetes offers for workloads whose readiness depends on something outside the
deployment (custom timeouts would only fail later); the rollout is checked where a model does
exist: CI's `smoke` step (`ci/steps/smoke.py`) waits for both serving rollouts
(`kubectl rollout status`'s rule), then calls readiness and one inference through this Service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.contract import NS_SERVING, PlatformContract
from infra.k8s.addons import IN_FLIGHT_METRIC
from infra.k8s.pods import (
    SKIP_AWAIT,
    app_labels,
    container_security,
    deployment,
    env,
    gpu_placement,
    plain,
    resources,
    restricted_pod,
    scratch_volumes,
)

NAME = "inference"
PORT = 8080
GRPC_PORT = 8081  # the Open Inference Protocol's gRPC service; probes stay on HTTP
CPU_TARGET_PERCENT = 70
IN_FLIGHT_TARGET = "8"  # per pod: about a batch's worth of concurrent requests
PRESTOP_SLEEP_S = 5  # endpoints drop the pod before it stops accepting
GRACE_S = 45
ZONE = "topology.kubernetes.io/zone"


@dataclass(frozen=True)
class InferenceArgs:
    contract: PlatformContract
    image_tag: str
    min_replicas: int = 2
    max_replicas: int = 8
    use_gpu: bool = False
    monitoring: bool = False  # Prometheus + prometheus-adapter: scale on in-flight requests


def probes() -> dict[str, Any]:
    def get(path: str, **timing: int) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": "http"}, "timeoutSeconds": 2, **timing}

    return {
        "startupProbe": get("/v2/health/live", periodSeconds=2, failureThreshold=60),
        "livenessProbe": get("/v2/health/live", periodSeconds=10, failureThreshold=3),
        "readinessProbe": get("/v2/health/ready", periodSeconds=5, failureThreshold=2),
    }


def hpa_metrics(monitoring: bool) -> list[dict[str, Any]]:
    cpu = {
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": CPU_TARGET_PERCENT},
        },
    }
    if not monitoring:
        return [cpu]
    in_flight = {
        "type": "Pods",
        "pods": {
            "metric": {"name": IN_FLIGHT_METRIC},
            "target": {"type": "AverageValue", "averageValue": IN_FLIGHT_TARGET},
        },
    }
    return [cpu, in_flight]


def hpa_behavior() -> dict[str, Any]:
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Percent", "value": 100, "periodSeconds": 30},
                {"type": "Pods", "value": 4, "periodSeconds": 30},
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 300,
            "selectPolicy": "Min",
            "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
        },
    }


def inference_pod(args: InferenceArgs) -> dict[str, Any]:
    contract = args.contract
    pools = contract.pools("inference") if args.use_gpu else []
    volumes, mounts = scratch_volumes()
    labels = app_labels(NAME, "serving")
    container = {
        "name": NAME,
        "image": contract.image("inference", args.image_tag),
        "imagePullPolicy": "IfNotPresent",
        "ports": [
            {"name": "http", "containerPort": PORT, "protocol": "TCP"},
            {"name": "grpc", "containerPort": GRPC_PORT, "protocol": "TCP"},
        ],
        "env": env(
            contract,
            "inference",
            INFER_PORT=PORT,
            INFER_GRPC_PORT=GRPC_PORT,
            INFER_DEVICE="cuda" if pools else "cpu",
            INFER_THREADS=1 if pools else 2,
        ),
        "resources": resources("2", "4Gi", "4", 1) if pools else resources("1", "2Gi", "2"),
        "securityContext": container_security(),
        "volumeMounts": mounts,
        "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_S}}},
        **probes(),
    }
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": labels},
        }
        for key in (ZONE, "kubernetes.io/hostname")
    ]
    return restricted_pod(
        contract,
        "inference",
        container,
        volumes,
        terminationGracePeriodSeconds=GRACE_S,
        topologySpreadConstraints=spread,
        **gpu_placement(pools),
    )


class InferenceService(pulumi.ComponentResource):
    def __init__(self, name: str, args: InferenceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ascent:k8s:InferenceService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = app_labels(NAME, "serving")
        meta = {"name": NAME, "namespace": NS_SERVING, "labels": labels}
        unawaited = {**meta, "annotations": dict(SKIP_AWAIT)}  # see the module docstring
        self.deployment = deployment(
            f"{name}-deployment",
            unawaited,
            None,  # the HPA owns the count (its minReplicas)
            inference_pod(args),
            child,
            strategy={
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            },
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=plain(unawaited),
            spec=plain(
                {
                    "selector": labels,
                    "ports": [
                        {"name": "http", "port": PORT, "targetPort": "http"},
                        {
                            "name": "grpc",
                            "port": GRPC_PORT,
                            "targetPort": "grpc",
                            "appProtocol": "grpc",
                        },
                    ],
                }
            ),
            opts=child,
        )
        self.pdb = k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=plain(meta),
            spec=plain({"maxUnavailable": 1, "selector": {"matchLabels": labels}}),
            opts=child,
        )
        self.hpa = k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=plain(meta),
            spec=plain(
                {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
                    "minReplicas": args.min_replicas,
                    "maxReplicas": args.max_replicas,
                    "metrics": hpa_metrics(args.monitoring),
                    "behavior": hpa_behavior(),
                }
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.deployment]),
        )
        self.monitor: k8s.apiextensions.CustomResource | None = None
        if args.monitoring:
            self.monitor = k8s.apiextensions.CustomResource(
                f"{name}-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata=plain(meta),
                spec=plain(
                    {
                        "selector": {"matchLabels": labels},
                        "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}],
                    }
                ),
                opts=child,
            )
        self.register_outputs({"service": self.service.metadata["name"]})
