"""GPU node groups use only the instance families the team allows (pack config
`allowedGpuInstanceFamilies`). Mandatory: the allow list is where the team decides which GPUs it
pays for and has quota, drivers and images for; the pack config extends it per stack.

This rule reads the node group's `instanceTypes`; a GPU node group whose instance type is only
in its launch template is `aws-eks-nodegroup-launch-template-gpu-family`'s (a stack rule: it needs
the template)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule
from policies.rules._nodegroups import NODE_GROUP, family, instance_types, is_gpu


def check(props: Mapping[str, Any], config: PackConfig) -> list[str]:
    if not is_gpu(props):
        return []
    allowed = config.allowed_gpu_instance_families
    bad = [t for t in instance_types(props) if family(t) not in allowed]
    return [f"{', '.join(bad)} not in the allowed GPU families {list(allowed)}"] if bad else []


RULE = Rule(
    name="aws-eks-nodegroup-gpu-family-allowed",
    description="GPU node groups use allowed instance families",
    severity="medium",
    enforcement="mandatory",
    fix="pick instance types from allowedGpuInstanceFamilies, or extend the list",
    types=(NODE_GROUP,),
    check=check,
)
