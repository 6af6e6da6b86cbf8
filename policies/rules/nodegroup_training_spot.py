"""Training node groups run on spot capacity where the stack requires it (training resumes from
checkpoints, so a reclaim costs minutes, not the run). Advisory: spot is a cost choice, and a
team may need on-demand GPUs for a deadline or where spot capacity is scarce; the pack config's
`requireSpotForTraining: false` turns it off."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, text
from policies.rules._nodegroups import NODE_GROUP, purpose


def check(props: Mapping[str, Any], config: PackConfig) -> list[str]:
    if not config.require_spot_for_training or purpose(props) != "training":
        return []
    capacity = get(props, "capacityType")
    return (
        [] if capacity == "SPOT" else [f"a training node group on {text(capacity) or 'ON_DEMAND'}"]
    )


RULE = Rule(
    name="aws-eks-nodegroup-training-spot",
    description="training node groups use spot capacity (requireSpotForTraining)",
    severity="low",
    enforcement="advisory",
    fix="set capacityType SPOT on training pools (capacityType=spot in gpuPools)",
    types=(NODE_GROUP,),
    check=check,
)
