"""A training NodePool on spot falls back to on-demand only when the stack allows it
(`allowOnDemandFallback`, from the stack's `karpenterOnDemandFallback`), and runs on spot where
the stack requires it (`requireSpotForTraining`). Karpenter prefers spot whenever a NodePool
allows both, but launches on-demand GPUs when spot has none: several times the price, so it is a
choice the stack makes, not a default a NodePool slips in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule
from policies.rules._nodepools import NODE_POOL, capacity_types, purpose


def check(props: Mapping[str, Any], config: PackConfig) -> list[str]:
    if purpose(props) != "training":
        return []
    capacity = capacity_types(props)
    if "spot" not in capacity:
        return (
            ["a training NodePool without spot capacity"]
            if config.require_spot_for_training
            else []
        )
    if "on-demand" in capacity and not config.allow_on_demand_fallback:
        return ["a spot training NodePool falls back to on-demand, which the stack does not allow"]
    return []


RULE = Rule(
    name="karpenter-nodepool-training-capacity",
    description="spot training NodePools fall back to on-demand only where the stack allows it",
    severity="medium",
    enforcement="mandatory",
    fix="drop on-demand from karpenter.sh/capacity-type, or set karpenterOnDemandFallback true",
    types=(NODE_POOL,),
    check=check,
)
