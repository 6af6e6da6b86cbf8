"""A node group that names no `instanceTypes` runs its launch template's `instanceType`; when
that node group is a GPU pool (a GPU AMI type, or a GPU instance type in the template), the type
must be in an allowed family (`allowedGpuInstanceFamilies`), as for node groups that name their
types (`aws-eks-nodegroup-gpu-family-allowed`). Mandatory for the same reason: the allow list
would otherwise be one field away from being bypassed. A stack rule: only the stack has both the
node group and its template (linked by the engine's property dependency on `launchTemplate`)."""

from __future__ import annotations

from policies.core import PackConfig, Resource, Rule
from policies.rules._nodegroups import (
    NODE_GROUP,
    family,
    is_gpu,
    is_gpu_family,
    template_instance_type,
)


def check(resources: list[Resource], config: PackConfig) -> list[tuple[str, str]]:
    allowed = config.allowed_gpu_instance_families
    out = []
    for ng in resources:
        if ng.type != NODE_GROUP:
            continue
        typ = template_instance_type(ng, resources)
        if typ is None or not (is_gpu(ng.props) or is_gpu_family(typ)):
            continue
        if family(typ) not in allowed:
            out.append(
                (
                    ng.name,
                    f"{typ} (from its launch template) not in the allowed GPU families "
                    f"{list(allowed)}",
                )
            )
    return out


RULE = Rule(
    name="aws-eks-nodegroup-launch-template-gpu-family",
    description="GPU node groups sized by their launch template use allowed instance families",
    severity="medium",
    enforcement="mandatory",
    fix="set the launch template's instanceType from allowedGpuInstanceFamilies, "
    "or extend the list",
    stack_check=check,
)
