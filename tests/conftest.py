"""Shared fixtures: the real program run offline through `infra.offline` (the test harness)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra.offline import Inventory, run_program, stack_names

STACKS = ("local", "aws-dev", "aws-prod")
"""The platforms: a split AWS stack's plan holds its kubernetes layer too (LAYER_STACKS)."""
LAYER_STACKS = ("aws-dev-k8s", "aws-prod-k8s")
RunStack = Callable[..., Inventory]


@pytest.fixture(scope="session")
def run_stack() -> RunStack:
    """Run the program for a stack, optionally with config overrides (`pulumi config set`)."""

    def run(stack: str, **overrides: Any) -> Inventory:
        return run_program(stack, overrides=overrides)

    return run


@pytest.fixture(scope="session")
def inventories() -> dict[str, Inventory]:
    """Each shipped stack, run once for the session."""
    assert set(stack_names()) == {*STACKS, *LAYER_STACKS}
    return {stack: run_program(stack) for stack in STACKS}
