"""The workload namespaces: Pod Security, quotas, default limits and a default-deny network.

Training and serving enforce the `restricted` Pod Security level. GPU pods are compatible with it:
asking for `nvidia.com/gpu` needs no privilege (the device plugin hands the devices to the
runtime), but the pod specs must run as non-root, drop ALL capabilities, forbid privilege
escalation, use the RuntimeDefault seccomp profile and no host paths or host IPC (NCCL's shared
memory: an `emptyDir` with `medium: Memory` on /dev/shm). The platform namespace enforces
`baseline` and warns on `restricted`.

Network: everything is denied, then allowed one need at a time: DNS to kube-dns; Kafka (the
Strimzi namespace when Kafka runs in the cluster, else `vpc_cidr`, or any address without it, on
`kafka_port`: MSK lives in the VPC); the object store (the MinIO namespace, else HTTPS anywhere:
S3's gateway endpoint answers on public addresses); the EKS Pod Identity agent (169.254.170.23:80)
where `pod_identity_agent`; Prometheus from `monitoring_namespace` on the metrics port. Training
pods may talk to each other on any port (torchrun rendezvous, NCCL's ephemeral ports). Serving
pods reach the inference ports (8080 HTTP, 8081 gRPC) of each other (the scorer calls the
server), and it accepts traffic from `ingress_namespace` (an in-cluster ingress controller) and
from `vpc_cidr` (load balancers with IP targets).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.contract import NS_PLATFORM, NS_SERVING, NS_TRAINING, GpuPoolInfo

PURPOSES = {NS_TRAINING: "training", NS_SERVING: "inference"}  # namespace -> GPU pool purpose
ANY_ADDRESS = "0.0.0.0/0"
POD_IDENTITY_AGENT = "169.254.170.23/32"
METADATA_NAME = "kubernetes.io/metadata.name"

# Ceilings sized for the default pools (2x g6.12xlarge training, 4x g6.xlarge serving, plus CPU
# pods); the GPU line comes from the pools themselves.
QUOTAS: dict[str, dict[str, str]] = {
    NS_TRAINING: {
        "requests.cpu": "96",
        "requests.memory": "384Gi",
        "limits.cpu": "192",
        "limits.memory": "512Gi",
        "pods": "50",
    },
    NS_SERVING: {
        "requests.cpu": "32",
        "requests.memory": "128Gi",
        "limits.cpu": "64",
        "limits.memory": "256Gi",
        "pods": "100",
    },
}
# Containers that set nothing (the quota above makes requests and limits mandatory).
DEFAULT_REQUEST = {"cpu": "250m", "memory": "512Mi"}
DEFAULT_LIMIT = {"cpu": "1", "memory": "2Gi"}
LIMIT_RANGE: Any = {
    "limits": [{"type": "Container", "default": DEFAULT_LIMIT, "default_request": DEFAULT_REQUEST}]
}


def gpu_quota(pools: list[GpuPoolInfo], purpose: str) -> int:
    """The most GPUs the pools of `purpose` can ever hold: sum of gpus_per_node * max_nodes."""
    return sum(p.gpus_per_node * p.max_nodes for p in pools if p.purpose == purpose)


def namespace_labels(namespace: str) -> dict[str, str]:
    level = "baseline" if namespace == NS_PLATFORM else "restricted"
    return {
        "app.kubernetes.io/part-of": "ascent",
        "ascent.dev/purpose": PURPOSES.get(namespace, "platform"),
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    }


@dataclass(frozen=True)
class WorkloadNamespacesArgs:
    gpu_pools: list[GpuPoolInfo]
    kafka_port: int
    kafka_namespace: str | None = None  # None on AWS: MSK is outside the cluster
    object_store_namespace: str | None = None  # None on AWS: S3
    object_store_port: int = 9000
    monitoring_namespace: str | None = None
    vpc_cidr: str | None = None  # narrows Kafka egress; admits load balancers to serving
    ingress_namespace: str | None = None
    pod_identity_agent: bool = False  # EKS Pod Identity: credentials from a link-local agent
    gpu_sharing_replicas: int = 1  # time-slicing: each GPU counts this many times
    metrics_port: int = 8080
    inference_port: int = 8080
    inference_grpc_port: int = 8081

    def __post_init__(self) -> None:
        if self.gpu_sharing_replicas < 1:
            raise ValueError(f"gpu_sharing_replicas = {self.gpu_sharing_replicas}: must be >= 1")


def _ns(namespace: str) -> Any:
    return {"namespace_selector": {"match_labels": {METADATA_NAME: namespace}}}


def _ip(cidr: str) -> Any:
    return {"ip_block": {"cidr": cidr}}


def _tcp(port: int) -> list[Any]:
    return [{"protocol": "TCP", "port": port}]


def _egress(peers: list[Any], ports: list[Any] | None = None) -> Any:
    rule = {"to": peers, **({"ports": ports} if ports else {})}
    return {"pod_selector": {}, "policy_types": ["Egress"], "egress": [rule]}


def _ingress(peers: list[Any], ports: list[Any] | None = None) -> Any:
    rule = {"from_": peers, **({"ports": ports} if ports else {})}
    return {"pod_selector": {}, "policy_types": ["Ingress"], "ingress": [rule]}


def network_policies(namespace: str, args: WorkloadNamespacesArgs) -> dict[str, Any]:
    """Policy name -> NetworkPolicy spec for `namespace` (training or serving)."""
    same_ns: Any = {"pod_selector": {}}
    dns = {**_ns("kube-system"), "pod_selector": {"match_labels": {"k8s-app": "kube-dns"}}}
    kafka = _ns(args.kafka_namespace) if args.kafka_namespace else _ip(args.vpc_cidr or ANY_ADDRESS)
    policies = {
        "default-deny": {"pod_selector": {}, "policy_types": ["Ingress", "Egress"]},
        "allow-dns": _egress([dns], [{"protocol": p, "port": 53} for p in ("UDP", "TCP")]),
        "allow-kafka": _egress([kafka], _tcp(args.kafka_port)),
        "allow-object-store": _egress(
            [_ns(args.object_store_namespace)], _tcp(args.object_store_port)
        )
        if args.object_store_namespace
        else _egress([_ip(ANY_ADDRESS)], _tcp(443)),
    }
    if args.pod_identity_agent:
        policies["allow-pod-identity"] = _egress([_ip(POD_IDENTITY_AGENT)], _tcp(80))
    if args.monitoring_namespace:
        policies["allow-monitoring"] = _ingress(
            [_ns(args.monitoring_namespace)], _tcp(args.metrics_port)
        )
    if namespace == NS_TRAINING:
        policies["allow-same-namespace"] = {
            "pod_selector": {},
            "policy_types": ["Ingress", "Egress"],
            "ingress": [{"from_": [same_ns]}],
            "egress": [{"to": [same_ns]}],
        }
    if namespace == NS_SERVING:
        sources: list[Any] = [same_ns]
        if args.ingress_namespace:
            sources.append(_ns(args.ingress_namespace))
        if args.vpc_cidr:
            sources.append(_ip(args.vpc_cidr))
        ports = _tcp(args.inference_port) + _tcp(args.inference_grpc_port)  # HTTP and gRPC
        policies["allow-inference"] = {
            "pod_selector": {},
            "policy_types": ["Ingress", "Egress"],
            "ingress": [{"from_": sources, "ports": ports}],
            "egress": [{"to": [same_ns], "ports": ports}],
        }
    return policies


def quota(namespace: str, args: WorkloadNamespacesArgs) -> dict[str, str]:
    gpus = gpu_quota(args.gpu_pools, PURPOSES[namespace]) * args.gpu_sharing_replicas
    return {**QUOTAS[namespace], "requests.nvidia.com/gpu": str(gpus)}


class WorkloadNamespaces(pulumi.ComponentResource):
    """Namespaces by name; `resources` is everything declared, for `depends_on`."""

    namespaces: dict[str, k8s.core.v1.Namespace]
    resources: list[pulumi.Resource]

    def __init__(
        self, name: str, args: WorkloadNamespacesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("ascent:k8s:WorkloadNamespaces", name, None, opts)
        self.namespaces = {
            ns: k8s.core.v1.Namespace(
                f"{name}-{ns}",
                metadata={"name": ns, "labels": namespace_labels(ns)},
                opts=pulumi.ResourceOptions(parent=self),
            )
            for ns in (NS_PLATFORM, NS_TRAINING, NS_SERVING)
        }
        self.resources = list(self.namespaces.values())
        for ns in PURPOSES:
            inside = pulumi.ResourceOptions(parent=self, depends_on=[self.namespaces[ns]])
            self.resources.append(
                k8s.core.v1.ResourceQuota(
                    f"{name}-{ns}-quota",
                    metadata={"name": "ascent-quota", "namespace": ns},
                    spec={"hard": quota(ns, args)},
                    opts=inside,
                )
            )
            self.resources.append(
                k8s.core.v1.LimitRange(
                    f"{name}-{ns}-limits",
                    metadata={"name": "ascent-defaults", "namespace": ns},
                    spec=LIMIT_RANGE,
                    opts=inside,
                )
            )
            for policy, spec in network_policies(ns, args).items():
                self.resources.append(
                    k8s.networking.v1.NetworkPolicy(
                        f"{name}-{ns}-{policy}",
                        metadata={"name": policy, "namespace": ns},
                        spec=spec,
                        opts=inside,
                    )
                )
        self.register_outputs({"namespaces": sorted(self.namespaces)})
