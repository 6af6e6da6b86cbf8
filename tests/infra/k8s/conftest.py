"""The Kubernetes layer's shared fixtures: the stack variants the shipped files leave off."""

from __future__ import annotations

from typing import Any

import pytest

from infra.offline import Inventory

DIGEST = "sha256:" + "ab" * 32

VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    # name: (shipped stack, config overrides)
    "multi-node": (
        "aws-prod",
        {"trainingNodes": 2, "trainingSchedule": "0 3 * * 1", "enableMonitoring": True},
    ),
    "digest": ("local", {"imageTag": DIGEST, "enableMonitoring": True}),
    "no-keda": ("local", {"enableKeda": False, "scorerMinReplicas": 0, "trainingNodes": 2}),
    "no-keda-aws": ("aws-dev", {"enableKeda": False, "trainingNodes": 3}),
}


def declaring_stack(inv: Inventory) -> str:
    """The stack that declared the Kubernetes objects: a split stack's kubernetes layer."""
    return next((name for name in inv.layers if name.endswith("-k8s")), inv.stack)


@pytest.fixture(scope="session")
def variants(run_stack) -> dict[str, Inventory]:
    """Shipped stacks with the options the shipped files leave off, run once per session."""
    return {name: run_stack(stack, **overrides) for name, (stack, overrides) in VARIANTS.items()}
