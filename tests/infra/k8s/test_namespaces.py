"""Workload namespaces: labels, quotas (GPU from the pools), default limits, network policies."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest

from infra.contract import NS_PLATFORM, NS_SERVING, NS_TRAINING, GpuPoolInfo
from infra.k8s.namespaces import WorkloadNamespaces, WorkloadNamespacesArgs, gpu_quota
from infra.k8s.render import manifests
from infra.offline import Inventory, run_function

POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


def pool(purpose: str, gpus: int, nodes: int, name: str = "p") -> GpuPoolInfo:
    return GpuPoolInfo(name, purpose, {"nvidia.com/gpu.present": "true"}, [TAINT], gpus, nodes)


POOLS = [pool("training", 4, 2, "a"), pool("training", 8, 1, "b"), pool("inference", 1, 4, "c")]
AWS = {"kafka_port": 9098, "vpc_cidr": "10.0.0.0/16", "pod_identity_agent": True}
LOCAL = {"kafka_port": 9093, "kafka_namespace": "kafka", "object_store_namespace": "minio"}


def run(**kwargs: Any) -> tuple[Inventory, WorkloadNamespaces]:
    kwargs.setdefault("gpu_pools", POOLS)
    made: list[WorkloadNamespaces] = []

    def program() -> None:
        provider = k8s.Provider("k8s")
        opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
        made.append(WorkloadNamespaces("ns", WorkloadNamespacesArgs(**kwargs), opts=opts))

    return run_function(program), made[0]


def policies(inv: Inventory, namespace: str) -> dict[str, dict[str, Any]]:
    return {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in inv.of_type(POLICY)
        if r.inputs["metadata"]["namespace"] == namespace
    }


def hard(inv: Inventory, namespace: str) -> dict[str, str]:
    (quota,) = [
        r
        for r in inv.of_type("kubernetes:core/v1:ResourceQuota")
        if r.inputs["metadata"]["namespace"] == namespace
    ]
    return quota.inputs["spec"]["hard"]


@pytest.mark.parametrize(
    ("pools", "purpose", "expected"),
    [
        ([], "training", 0),
        (POOLS, "training", 4 * 2 + 8 * 1),
        (POOLS, "inference", 4),
        ([pool("inference", 1, 4)], "training", 0),
        ([pool("training", 8, 0)], "training", 0),
    ],
)
def test_gpu_quota(pools, purpose, expected):
    assert gpu_quota(pools, purpose) == expected


def test_namespaces_are_created_and_labelled():
    inv, made = run(**AWS)
    assert set(made.namespaces) == {NS_PLATFORM, NS_TRAINING, NS_SERVING}
    labels = {
        r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"]
        for r in inv.of_type("kubernetes:core/v1:Namespace")
    }
    assert set(labels) == {NS_PLATFORM, NS_TRAINING, NS_SERVING}
    enforce = "pod-security.kubernetes.io/enforce"
    assert labels[NS_TRAINING][enforce] == labels[NS_SERVING][enforce] == "restricted"
    assert labels[NS_PLATFORM][enforce] == "baseline"
    assert all(v["app.kubernetes.io/part-of"] == "ascent" for v in labels.values())
    assert labels[NS_SERVING]["ascent.dev/purpose"] == "inference"


def test_quotas_bound_cpu_memory_pods_and_gpus_by_pool_purpose():
    inv, _ = run(**AWS)
    training, serving = hard(inv, NS_TRAINING), hard(inv, NS_SERVING)
    for quota in (training, serving):
        assert {"requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "pods"} <= set(
            quota
        )
    assert training["requests.nvidia.com/gpu"] == "16"
    assert serving["requests.nvidia.com/gpu"] == "4"


def test_gpu_quota_is_zero_without_pools_and_scales_with_time_slicing():
    inv, _ = run(**AWS, gpu_pools=[])
    assert hard(inv, NS_TRAINING)["requests.nvidia.com/gpu"] == "0"
    assert hard(inv, NS_SERVING)["requests.nvidia.com/gpu"] == "0"
    inv, _ = run(**AWS, gpu_sharing_replicas=4)
    assert hard(inv, NS_SERVING)["requests.nvidia.com/gpu"] == "16"
    with pytest.raises(ValueError, match="gpu_sharing_replicas"):
        WorkloadNamespacesArgs(gpu_pools=[], kafka_port=9098, gpu_sharing_replicas=0)


def test_limit_ranges_give_containers_defaults():
    inv, _ = run(**AWS)
    ranges = inv.of_type("kubernetes:core/v1:LimitRange")
    assert {r.inputs["metadata"]["namespace"] for r in ranges} == {NS_TRAINING, NS_SERVING}
    for r in ranges:
        (limit,) = r.inputs["spec"]["limits"]
        assert limit["type"] == "Container"
        assert set(limit["default"]) == set(limit["defaultRequest"]) == {"cpu", "memory"}


@pytest.mark.parametrize("namespace", [NS_TRAINING, NS_SERVING])
def test_default_deny_and_dns(namespace):
    found = policies(run(**AWS)[0], namespace)
    assert found["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    (rule,) = found["allow-dns"]["egress"]
    assert rule["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert {(p["protocol"], p["port"]) for p in rule["ports"]} == {("UDP", 53), ("TCP", 53)}
    assert not policies(run(**AWS)[0], NS_PLATFORM)


def egress(spec: dict[str, Any]) -> tuple[list[Any], list[tuple[str, float]]]:
    (rule,) = spec["egress"]
    return rule["to"], [(p["protocol"], p["port"]) for p in rule["ports"]]


@pytest.mark.parametrize("namespace", [NS_TRAINING, NS_SERVING])
def test_aws_egress_to_msk_in_the_vpc_s3_and_the_pod_identity_agent(namespace):
    found = policies(run(**AWS)[0], namespace)
    assert egress(found["allow-kafka"]) == ([{"ipBlock": {"cidr": "10.0.0.0/16"}}], [("TCP", 9098)])
    assert egress(found["allow-object-store"]) == (
        [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
        [("TCP", 443)],
    )
    assert egress(found["allow-pod-identity"]) == (
        [{"ipBlock": {"cidr": "169.254.170.23/32"}}],
        [("TCP", 80)],
    )


def test_kafka_egress_without_vpc_cidr_goes_anywhere_on_the_kafka_port():
    found = policies(run(kafka_port=9098)[0], NS_TRAINING)
    assert egress(found["allow-kafka"]) == ([{"ipBlock": {"cidr": "0.0.0.0/0"}}], [("TCP", 9098)])
    assert "allow-pod-identity" not in found


@pytest.mark.parametrize("namespace", [NS_TRAINING, NS_SERVING])
def test_local_egress_to_the_strimzi_and_minio_namespaces(namespace):
    found = policies(run(**LOCAL)[0], namespace)
    by_name = {"matchLabels": {"kubernetes.io/metadata.name": "kafka"}}
    assert egress(found["allow-kafka"]) == ([{"namespaceSelector": by_name}], [("TCP", 9093)])
    minio = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "minio"}}}
    assert egress(found["allow-object-store"]) == ([minio], [("TCP", 9000)])


def test_monitoring_ingress_only_when_monitoring_runs():
    assert "allow-monitoring" not in policies(run(**AWS)[0], NS_TRAINING)
    found = policies(run(**AWS, monitoring_namespace="monitoring")[0], NS_SERVING)
    (rule,) = found["allow-monitoring"]["ingress"]
    assert found["allow-monitoring"]["policyTypes"] == ["Ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]


def test_training_pods_reach_each_other_on_any_port():
    found = policies(run(**AWS)[0], NS_TRAINING)
    same = found["allow-same-namespace"]
    assert same["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert same["egress"] == [{"to": [{"podSelector": {}}]}]
    assert "allow-inference" not in found


def test_serving_admits_the_namespace_the_ingress_controller_and_load_balancers():
    found = policies(run(**AWS, ingress_namespace="ingress-nginx")[0], NS_SERVING)
    spec = found["allow-inference"]
    (rule,) = spec["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}, {"protocol": "TCP", "port": 8081}]
    assert rule["from"] == [
        {"podSelector": {}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
        {"ipBlock": {"cidr": "10.0.0.0/16"}},
    ]
    assert egress(spec) == ([{"podSelector": {}}], [("TCP", 8080), ("TCP", 8081)])  # scorer
    assert "allow-same-namespace" not in found
    local = policies(run(**LOCAL)[0], NS_SERVING)["allow-inference"]["ingress"][0]
    assert local["from"] == [{"podSelector": {}}]


def test_every_resource_on_the_provider_and_listed_for_depends_on():
    inv, made = run(**AWS, monitoring_namespace="monitoring")
    provider = inv.named("k8s").urn
    component = inv.named("ns")
    assert component.type == "ascent:k8s:WorkloadNamespaces"
    children = [r for r in inv.custom() if r.type.startswith("kubernetes:")]
    assert len(children) == len(made.resources)
    for res in children:
        assert res.provider.startswith(provider + "::"), res.name
        assert res.parent == component.urn, res.name


@pytest.mark.parametrize("target", [AWS, LOCAL])
def test_objects_validate_strictly_against_the_api_schema(target):
    inv, _ = run(**target, monitoring_namespace="monitoring", ingress_namespace="ingress-nginx")
    docs = manifests(inv)
    assert len(docs) == len([r for r in inv.custom() if r.type.startswith("kubernetes:")])
    for doc in docs:
        kubernetes_validate.validate(doc, "1.35.0", strict=True)
