"""The pack over whole stacks: the shipped stacks pass, mutated ones fail the expected rule,
and the assembled CrossGuard pack loads with every rule."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.offline import Inventory
from policies.core import PackConfig, Resource, evaluate
from policies.pack import build_policies
from policies.rules import RULES

ROOT = Path(__file__).resolve().parents[2]


def resources(inv: Inventory) -> list[Resource]:
    return [Resource(r.type, r.name, copy.deepcopy(dict(r.inputs))) for r in inv.resources]


def mutate(res: list[Resource], name: str, change: Any) -> list[Resource]:
    out = []
    for r in res:
        if r.name == name:
            props = copy.deepcopy(dict(r.props))
            change(props)
            r = Resource(r.type, r.name, props)
        out.append(r)
    return out


def mandatory(res: list[Resource], config: PackConfig | None = None) -> list[tuple[str, str]]:
    found = evaluate(RULES, res, config or PackConfig())
    return sorted((v.rule, v.resource) for v in found if v.enforcement == "mandatory")


@pytest.mark.parametrize("stack", ["local", "aws-dev", "aws-prod"])
def test_shipped_stacks_have_no_mandatory_violation(inventories, stack):
    assert mandatory(resources(inventories[stack])) == []


def test_a_public_bucket_is_caught(inventories):
    res = mutate(
        resources(inventories["aws-prod"]),
        "storage-public-access",
        lambda p: p.update(blockPublicPolicy=False, restrictPublicBuckets=False),
    )
    assert mandatory(res) == [("aws-s3-bucket-public-access-block", "storage-public-access")]


def test_an_untainted_gpu_pool_is_caught(inventories):
    res = mutate(resources(inventories["aws-prod"]), "gpu-training-ng", lambda p: p.pop("taints"))
    assert mandatory(res) == [("aws-eks-nodegroup-gpu-taint", "gpu-training-ng")]


def test_a_gpu_pod_without_toleration_is_caught(inventories):
    def drop(props: dict[str, Any]) -> None:
        props["spec"]["template"]["spec"]["tolerations"] = []

    res = mutate(resources(inventories["aws-prod"]), "workloads-training-job", drop)
    assert mandatory(res) == [("k8s-gpu-pod-toleration-and-limit", "workloads-training-job")]


def test_a_budget_too_small_or_too_many_gpu_nodes_are_caught(inventories):
    res = resources(inventories["aws-prod"])
    assert mandatory(res, PackConfig(monthly_budget_usd=1000)) == [
        ("stack-monthly-budget", "stack")
    ]
    assert mandatory(res, PackConfig(max_gpu_nodes=4)) == [("stack-max-gpu-nodes", "stack")]


def test_the_pack_builds_every_rule_without_serving():
    policies = build_policies()
    assert [p.name for p in policies] == [r.name for r in RULES]
    assert len({p.name for p in policies}) == len(policies) >= 25


def test_the_assembled_pack_loads_and_serves(tmp_path):
    """`python policies/__main__.py` is what the Pulumi CLI runs: it prints the analyzer's port
    once every policy is registered; then it is stopped."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "policies" / "__main__.py")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.isdigit() and int(line) > 0, proc.stderr.read() if proc.stderr else line
    finally:
        proc.kill()
        proc.wait(timeout=10)
