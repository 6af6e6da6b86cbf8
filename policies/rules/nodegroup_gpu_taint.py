"""GPU node groups carry the `nvidia.com/gpu` NoSchedule taint, so only GPU pods land there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, unknown
from policies.rules._nodegroups import NODE_GROUP, is_gpu


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    taints = props.get("taints")
    if not is_gpu(props) or unknown(taints):
        return []
    for t in taints or []:
        if t.get("key") == "nvidia.com/gpu" and t.get("effect") in ("NO_SCHEDULE", "NoSchedule"):
            return []
    return ["a GPU node group without the nvidia.com/gpu NoSchedule taint"]


RULE = Rule(
    name="aws-eks-nodegroup-gpu-taint",
    description="GPU node groups are tainted nvidia.com/gpu:NoSchedule",
    severity="high",
    enforcement="mandatory",
    fix="add taints [{key: nvidia.com/gpu, value: 'true', effect: NO_SCHEDULE}]",
    types=(NODE_GROUP,),
    check=check,
)
