"""The pack over whole stacks, through the same analyzer `pulumi preview` uses: the shipped
stacks pass, mutated ones fail the expected rule, and the assembled pack has every rule."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from infra.offline import Inventory
from policies.core import PackConfig
from policies.engine import Input, evaluate
from policies.pack import build_policies
from policies.rules import RULES


def inputs(inv: Inventory) -> list[Input]:
    return [
        Input(r.type, r.name, copy.deepcopy(dict(r.inputs)), r.urn, r.property_dependencies)
        for r in inv.resources
        if r.custom
    ]


def mutate(res: list[Input], name: str, change: Any) -> list[Input]:
    out = []
    for r in res:
        if r.name == name:
            props = copy.deepcopy(dict(r.props))
            change(props)
            r = Input(r.type, r.name, props, r.urn, r.depends)
        out.append(r)
    return out


def mandatory(res: list[Input], config: PackConfig | None = None) -> list[tuple[str, str]]:
    found = evaluate(res, config or PackConfig())
    return sorted((v.rule, v.resource) for v in found if v.enforcement == "mandatory")


@pytest.mark.parametrize("stack", ["local", "aws-dev", "aws-prod"])
def test_shipped_stacks_have_no_mandatory_violation(inventories, stack):
    assert mandatory(inputs(inventories[stack])) == []


def test_a_public_bucket_is_caught(inventories):
    res = mutate(
        inputs(inventories["aws-prod"]),
        "storage-public-access",
        lambda p: p.update(blockPublicPolicy=False, restrictPublicBuckets=False),
    )
    assert mandatory(res) == [("aws-s3-bucket-public-access-block", "storage-public-access")]


def test_an_untainted_gpu_pool_is_caught(inventories):
    res = mutate(inputs(inventories["aws-prod"]), "gpu-training-ng", lambda p: p.pop("taints"))
    assert mandatory(res) == [("aws-eks-nodegroup-gpu-taint", "gpu-training-ng")]


def test_a_gpu_pod_without_toleration_is_caught(inventories):
    def drop(props: dict[str, Any]) -> None:  # from the training runs' template (a CronJob)
        props["spec"]["jobTemplate"]["spec"]["template"]["spec"]["tolerations"] = []

    res = mutate(inputs(inventories["aws-prod"]), "workloads-training-template", drop)
    assert mandatory(res) == [("k8s-gpu-pod-toleration-and-limit", "workloads-training-template")]


def test_a_budget_too_small_or_too_many_gpu_nodes_are_caught(inventories):
    res = inputs(inventories["aws-prod"])
    assert mandatory(res, PackConfig(monthly_budget_usd=1000)) == [
        ("stack-monthly-budget", "stack")
    ]
    assert mandatory(res, PackConfig(max_gpu_nodes=4)) == [("stack-max-gpu-nodes", "stack")]


def test_the_pack_builds_every_rule_without_serving():
    policies = build_policies()
    assert [p.name for p in policies] == [r.name for r in RULES]
    assert len({p.name for p in policies}) == len(policies) >= 25


def test_the_readme_rule_table_is_the_generated_one():
    from policies.table import markdown

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert markdown() in readme, "run `python -m policies.table --readme`"
