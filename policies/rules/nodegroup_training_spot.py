"""Training node groups run on spot capacity where the stack requires it (training resumes from
checkpoints, so a reclaim costs minutes, not the run)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, unknown
from policies.rules._nodegroups import NODE_GROUP, purpose


def check(props: Mapping[str, Any], config: PackConfig) -> list[str]:
    capacity = props.get("capacityType")
    if not config.require_spot_for_training or purpose(props) != "training" or unknown(capacity):
        return []
    return [] if capacity == "SPOT" else [f"a training node group on {capacity or 'ON_DEMAND'}"]


RULE = Rule(
    name="aws-eks-nodegroup-training-spot",
    description="training node groups use spot capacity (requireSpotForTraining)",
    severity="low",
    enforcement="advisory",
    fix="set capacityType SPOT on training pools (capacityType=spot in gpuPools)",
    types=(NODE_GROUP,),
    check=check,
)
