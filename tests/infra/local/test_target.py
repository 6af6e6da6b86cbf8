"""The `local` stack as a whole: everything on the kubeconfig provider, every chart pinned."""

from __future__ import annotations

import re

import pytest

from infra.contract import TOPICS


@pytest.fixture(scope="module")
def local(inventories):
    return inventories["local"]


def test_every_kubernetes_resource_uses_the_explicit_provider(local):
    provider = local.named("k8s")
    assert provider.type == "pulumi:providers:kubernetes"
    assert "context" not in provider.inputs  # empty config: the kubeconfig's current context
    k8s = [r for r in local.custom() if r.type.startswith("kubernetes:")]
    assert len(k8s) > 40
    assert all(r.provider.startswith(provider.urn + "::") for r in k8s)
    assert not [r for r in local.custom() if r.type.startswith("aws:")]


def test_every_helm_release_is_pinned(local):
    releases = {r.inputs["chart"]: r.inputs for r in local.of_type("kubernetes:helm.sh/v3:Release")}
    assert {"oci://quay.io/strimzi-helm/strimzi-kafka-operator", "minio", "metrics-server",
            "keda"} <= set(releases)  # fmt: skip
    for chart, release in releases.items():
        version = release["version"]
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", version), (chart, version)  # exact, no ranges


def test_kafka_minio_and_workload_namespaces_are_declared(local):
    kinds = local.count_by_type()
    assert kinds["kubernetes:kafka.strimzi.io/v1beta2:Kafka"] == 1
    assert kinds["kubernetes:kafka.strimzi.io/v1beta2:KafkaNodePool"] == 1
    topics = {r.inputs["metadata"]["name"]: r.inputs["spec"]
              for r in local.of_type("kubernetes:kafka.strimzi.io/v1beta2:KafkaTopic")}  # fmt: skip
    assert set(topics) == set(TOPICS)
    assert all(t["partitions"] == 3 for t in topics.values())  # scorerMaxReplicas in local
    users = {r.inputs["metadata"]["name"]
             for r in local.of_type("kubernetes:kafka.strimzi.io/v1beta2:KafkaUser")}  # fmt: skip
    assert users == {"trainer", "scorer", "features"}
    namespaces = {r.inputs["metadata"]["name"]
                  for r in local.of_type("kubernetes:core/v1:Namespace")}  # fmt: skip
    assert {"kafka", "minio", "training", "serving", "ascent-system"} <= namespaces
    quotas = {r.inputs["metadata"]["namespace"]: r.inputs["spec"]["hard"]
              for r in local.of_type("kubernetes:core/v1:ResourceQuota")}  # fmt: skip
    assert quotas["training"]["requests.nvidia.com/gpu"] == "0"  # no GPU pools locally


def test_default_deny_in_every_workload_namespace(local):
    policies = [r.inputs for r in local.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")]
    for ns in ("training", "serving"):
        deny = [p for p in policies if p["metadata"]["namespace"] == ns
                and p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")
                and not p["spec"].get("egress")]  # fmt: skip
        assert deny and set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}, ns


def test_monitoring_is_off_locally_by_default(local):
    charts = {r.inputs["chart"] for r in local.of_type("kubernetes:helm.sh/v3:Release")}
    assert "kube-prometheus-stack" not in charts
