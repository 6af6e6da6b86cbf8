"""Karpenter NodePool rules (`nodeAutoscaler: karpenter`): the compliant NodePools are what the
program declares for aws-prod's pools (infra/aws/karpenter.py), written out as the engine sends
them; the stack case adds a GPU NodePool to the small stack of fixtures.py."""

from __future__ import annotations

from typing import Any

from policies.core import PackConfig
from tests.policies.cases import DELETE, Case, Mutation, StackCase, resource
from tests.policies.cases.fixtures import STACK

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
TEMPLATE = ("spec", "template", "spec")


def node_pool(purpose: str, types: list[str], capacity: list[str], limits: dict[str, Any]) -> dict:
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": purpose},
        "spec": {
            "template": {
                "metadata": {"labels": {"ascent.dev/pool": purpose, "ascent.dev/purpose": purpose}},
                "spec": {
                    "nodeClassRef": {
                        "group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu-al2023"
                    },
                    "requirements": [
                        {"key": "node.kubernetes.io/instance-type", "operator": "In",
                         "values": types},
                        {"key": "karpenter.sh/capacity-type", "operator": "In",
                         "values": capacity},
                    ],
                    "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
                    "expireAfter": "720h",
                },
            },
            "limits": limits,
            "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "10m"},
        },
    }  # fmt: skip


TRAINING = node_pool(
    "training", ["g6e.12xlarge", "g6.12xlarge"], ["spot", "on-demand"],
    {"nvidia.com/gpu": "16", "cpu": "192"},
)  # fmt: skip
INFERENCE = node_pool("inference", ["g6.xlarge"], ["on-demand"], {"nvidia.com/gpu": "8", "cpu": 32})
FALLBACK = PackConfig(allow_on_demand_fallback=True)
SPOT_ONLY = ["spot"]

CASES = [
    Case(
        "karpenter-nodepool-gpu-taint-limit",
        NODE_POOL,
        INFERENCE,
        (
            Mutation((*TEMPLATE, "taints"), [], "without the nvidia.com/gpu NoSchedule"),
            Mutation((*TEMPLATE, "taints", 0, "effect"), "PreferNoSchedule", "without the nvidia"),
            Mutation((*TEMPLATE, "taints"), DELETE, "without the nvidia.com/gpu NoSchedule"),
            Mutation(("spec", "limits", "nvidia.com/gpu"), DELETE, "without a limits entry"),
            Mutation(("spec", "limits", "nvidia.com/gpu"), "many", "without a limits entry"),
        ),
    ),
    Case(
        "karpenter-nodepool-training-capacity",
        NODE_POOL,
        TRAINING,
        (
            Mutation((*TEMPLATE, "requirements", 1, "values"), ["on-demand"], "without spot"),
            Mutation((*TEMPLATE, "requirements", 1), DELETE, "without spot"),
        ),
        FALLBACK,
    ),
    # the stack allows no fallback: spot only passes, spot with on-demand does not
    Case(
        "karpenter-nodepool-training-capacity",
        NODE_POOL,
        node_pool("training", ["g6.12xlarge"], SPOT_ONLY, {"nvidia.com/gpu": "16"}),
        (
            Mutation(
                (*TEMPLATE, "requirements", 1, "values"),
                ["spot", "on-demand"],
                "falls back to on-demand, which the stack does not allow",
            ),
        ),
    ),
]

KARPENTER_STACK = (*STACK, resource(NODE_POOL, "karpenter-nodepool-inference", INFERENCE))
"""fixtures' GPU node group (4 at max) and the inference NodePool (8 at max by its limits)."""

STACK_CASES = [
    StackCase(
        "stack-max-gpu-nodes",
        KARPENTER_STACK,
        (
            (
                "karpenter-nodepool-inference",
                Mutation(
                    ("props", "spec", "limits"),
                    {"nvidia.com/gpu": "9", "cpu": "36"},
                    "13 GPU nodes at maximum scale",
                ),
            ),
        ),
        PackConfig(max_gpu_nodes=12, monthly_budget_usd=1_000_000),
    ),
    StackCase(
        "stack-budget-verifiable",
        KARPENTER_STACK,
        (
            (
                "karpenter-nodepool-inference",
                Mutation(("props", "spec", "limits"), {}, "limits bound no node count"),
            ),
        ),
        PackConfig(max_gpu_nodes=12, monthly_budget_usd=1_000_000),
    ),
]
