"""A node group that is a GPU pool only through its launch template's `instanceType` (a CUSTOM
AMI type, no `instanceTypes`) still carries the `nvidia.com/gpu` NoSchedule or NoExecute taint.
Mandatory, as `aws-eks-nodegroup-gpu-taint` (which sees GPU pools by AMI type or
`instanceTypes`, and so leaves these to this stack rule: it needs the template)."""

from __future__ import annotations

from policies.core import PackConfig, Resource, Rule
from policies.rules._nodegroups import (
    NODE_GROUP,
    has_gpu_taint,
    is_gpu,
    is_gpu_family,
    template_instance_type,
)


def check(resources: list[Resource], _config: PackConfig) -> list[tuple[str, str]]:
    out = []
    for ng in resources:
        if ng.type != NODE_GROUP or is_gpu(ng.props):  # the resource rule's
            continue
        typ = template_instance_type(ng, resources)
        if typ is not None and is_gpu_family(typ) and not has_gpu_taint(ng.props):
            out.append(
                (
                    ng.name,
                    f"a GPU node group ({typ} from its launch template) without the "
                    "nvidia.com/gpu NoSchedule (or NoExecute) taint",
                )
            )
    return out


RULE = Rule(
    name="aws-eks-nodegroup-launch-template-gpu-taint",
    description="GPU node groups sized by their launch template are tainted nvidia.com/gpu",
    severity="high",
    enforcement="mandatory",
    fix="add taints [{key: nvidia.com/gpu, value: 'true', effect: NO_SCHEDULE}]",
    stack_check=check,
)
