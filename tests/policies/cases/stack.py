"""Stack rules: a small stack (a bucket with its four companions, a GPU pool, the provider)
that every stack rule accepts. Storage stack rules keep their cases in storage.py."""

from __future__ import annotations

from tests.policies.cases import Mutation, StackCase
from tests.policies.cases.fixtures import LIMITS, POOL_TYPES, STACK

STACK_CASES = [
    StackCase(
        "stack-max-gpu-nodes",
        STACK,
        (
            (
                "gpu-ng",
                Mutation(("props", "scalingConfig", "maxSize"), 5, "5 GPU nodes at maximum scale"),
            ),
        ),
        LIMITS,
    ),
    StackCase(
        "stack-monthly-budget",
        STACK,
        (("gpu-ng", Mutation(POOL_TYPES, ["p5.48xlarge"], "> monthlyBudgetUsd $10,000")),),
        LIMITS,
    ),
    StackCase(
        "stack-budget-verifiable",
        STACK,
        (
            ("aws", Mutation(("props", "region"), "sa-east-1", "no prices for region sa-east-1")),
            ("gpu-ng", Mutation(POOL_TYPES, ["g6.12xlarge", "x9.huge"], "x9.huge in us-east-1")),
        ),
        LIMITS,
    ),
]
