"""The platform contract: both targets fill it, and workloads see targets only through it."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from infra.config import load_config
from infra.contract import (
    DEVICE_PLUGIN_BUILTIN,
    IMAGES,
    LABEL_DEVICE_PLUGIN,
    WORKLOADS,
    PlatformContract,
)
from infra.k8s.settings import workload_env
from infra.offline import PROJECT_ROOT, load_stack_file, run_function, stack_config
from infra.stack import build_platform


def capture(stack: str, **overrides: Any) -> tuple[PlatformContract, dict[str, Any]]:
    """Build the platform for `stack` and resolve the contract's outputs."""
    holder: list[PlatformContract] = []

    def program() -> dict[str, Any]:
        contract = build_platform(load_config(), {})
        holder.append(contract)
        envs = {w: workload_env(contract, w) for w in WORKLOADS}
        bindings = [r for r in contract.depends_on if isinstance(r, aws.eks.PodIdentityAssociation)]
        return {
            "bootstrap": contract.kafka.bootstrap_servers,
            "bucket": contract.object_store.bucket,
            "images": contract.images,
            "env": envs,
            "awaited_bindings": [
                pulumi.Output.concat(b.namespace, "/", b.service_account) for b in bindings
            ],
        }

    if stack.startswith("aws"):  # what the target hands over, in one stack (infra/layers.py)
        overrides = {"layer": "all", **overrides}
    inv = run_function(program, stack=stack, config=stack_config(stack, overrides=overrides))
    return holder[0], inv.outputs


@pytest.fixture(scope="module")
def contracts() -> dict[str, tuple[PlatformContract, dict[str, Any]]]:
    return {stack: capture(stack) for stack in ("local", "aws-prod")}


@pytest.mark.parametrize("stack", ["local", "aws-prod"])
def test_both_targets_fill_the_contract(contracts, stack):
    contract, resolved = contracts[stack]
    assert contract.target == ("local" if stack == "local" else "aws")
    assert resolved["bootstrap"] and resolved["bucket"]
    assert set(resolved["images"]) == set(IMAGES) and all(resolved["images"].values())
    assert contract.kafka.partitions == (3 if stack == "local" else 12)
    topic_admin = {"topics"} if contract.kafka.auth == "aws-iam" else set()  # MSK makes none
    assert set(contract.service_accounts) == set(WORKLOADS) | topic_admin
    assert contract.depends_on, "nothing for the workloads to wait for"
    if contract.kafka.auth == "scram-sha-512":
        assert set(contract.kafka.secrets) == {"trainer", "scorer", "features"}
        assert contract.object_store.credentials == "secret"
        assert set(contract.object_store.secrets) == set(WORKLOADS)
    else:
        assert contract.kafka.auth == "aws-iam" and not contract.kafka.secrets
        assert contract.object_store.credentials == "pod-identity"
    assert [p.purpose for p in contract.gpu_pools] == (
        [] if stack == "local" else ["inference", "training"]
    )


def _names(env: list[dict[str, Any]]) -> set[str]:
    return {e["name"] for e in env}


def test_workloads_see_only_contract_level_differences(contracts):
    local, aws = contracts["local"][1]["env"], contracts["aws-prod"][1]["env"]
    credentials = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "KAFKA_USERNAME",
                   "KAFKA_PASSWORD", "KAFKA_SSL_CA_LOCATION", "AWS_ENDPOINT_URL_S3"}  # fmt: skip
    for workload in WORKLOADS:
        assert _names(local[workload]) - credentials == _names(aws[workload])
        shared = {e["name"]: e for e in aws[workload]}
        for var in local[workload]:
            if var["name"] in shared and var["name"] not in {
                "ASCENT_TARGET", "OBJECT_STORE_URL", "AWS_REGION",
                "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_AUTH",
            }:  # fmt: skip
                assert var == shared[var["name"]], var  # same wherever the contract agrees
    assert "KAFKA_BOOTSTRAP_SERVERS" not in _names(aws["inference"])  # no Kafka, no Kafka env
    by_name = {e["name"]: e for e in local["scorer"]}
    assert by_name["KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "kafka-scorer"
    assert by_name["KAFKA_GROUP_ID"]["value"] == "fraud-scores"


def test_aws_workloads_wait_for_their_pod_identity_associations(contracts):
    """A pod that starts before its association exists gets no AWS credentials."""
    awaited = set(contracts["aws-prod"][1]["awaited_bindings"])
    assert {f"{w.namespace}/{w.service_account}" for w in WORKLOADS.values()} <= awaited
    assert contracts["local"][1]["awaited_bindings"] == []


def test_aws_pools_carry_exactly_their_nodes_labels(contracts, inventories):
    contract, _ = contracts["aws-prod"]
    pools = {p.name: p for p in contract.gpu_pools}
    for name, pool in pools.items():
        assert pool.labels == inventories["aws-prod"].named(f"gpu-{name}-ng").inputs["labels"]
    assert pools["inference"].labels["ascent.dev/gpu-model"] == "L4"
    assert "ascent.dev/gpu-model" not in pools["training"].labels  # L40S and L4 nodes
    assert not any(p.device_plugin_builtin for p in pools.values())


def test_a_bottlerocket_pool_is_handed_over_as_bringing_its_device_plugin():
    inference, training = load_stack_file(PROJECT_ROOT / "Pulumi.aws-prod.yaml")["ascent:gpuPools"]
    contract, _ = capture("aws-prod", gpuPools=[inference, training + " amiFamily=bottlerocket"])
    pools = {p.name: p for p in contract.gpu_pools}
    assert pools["training"].device_plugin_builtin is True
    assert pools["training"].labels[LABEL_DEVICE_PLUGIN] == DEVICE_PLUGIN_BUILTIN
    assert pools["inference"].device_plugin_builtin is False
    assert LABEL_DEVICE_PLUGIN not in pools["inference"].labels
