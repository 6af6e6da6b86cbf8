"""GPU node groups carry the `nvidia.com/gpu` taint with effect NoSchedule or NoExecute, so only
pods that tolerate it (GPU pods) land there. Mandatory: an untainted GPU pool fills with CPU pods
that hold the most expensive nodes of the stack and keep the autoscaler from shrinking them.

A node group is a GPU pool by its AMI type (`*_NVIDIA`, `AL2_*_GPU`) or its `instanceTypes`; one
whose instance type is only in its launch template (CUSTOM AMI) is the stack rule
`aws-eks-nodegroup-launch-template-gpu-taint`'s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule
from policies.rules._nodegroups import NODE_GROUP, has_gpu_taint, is_gpu

MESSAGE = "a GPU node group without the nvidia.com/gpu NoSchedule (or NoExecute) taint"


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    if not is_gpu(props) or has_gpu_taint(props):
        return []
    return [MESSAGE]


RULE = Rule(
    name="aws-eks-nodegroup-gpu-taint",
    description="GPU node groups are tainted nvidia.com/gpu:NoSchedule (or NoExecute)",
    severity="high",
    enforcement="mandatory",
    fix="add taints [{key: nvidia.com/gpu, value: 'true', effect: NO_SCHEDULE}]",
    types=(NODE_GROUP,),
    check=check,
)
