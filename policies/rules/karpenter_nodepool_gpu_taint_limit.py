"""Every GPU NodePool carries the `nvidia.com/gpu` taint (NoSchedule or NoExecute) and a
`limits` entry on `nvidia.com/gpu`. Mandatory: an untainted GPU NodePool takes CPU pods onto the
dearest nodes of the stack, and one without a GPU limit can launch GPUs without bound (Karpenter
has no maxSize: its limits are the only cap, and what `stack-max-gpu-nodes` and the budget read).

A NodePool is GPU by its instance types, its GPU limit or its GPU taint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule
from policies.rules._nodegroups import GPU_TAINT_KEY
from policies.rules._nodepools import NODE_POOL, has_gpu_taint, is_gpu_node_pool, limit

NO_TAINT = "a GPU NodePool without the nvidia.com/gpu NoSchedule (or NoExecute) taint"
NO_LIMIT = "a GPU NodePool without a limits entry on nvidia.com/gpu (unbounded GPUs)"


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    if not is_gpu_node_pool(props):
        return []
    found = [] if has_gpu_taint(props) else [NO_TAINT]
    return found + ([] if limit(props, GPU_TAINT_KEY) is not None else [NO_LIMIT])


RULE = Rule(
    name="karpenter-nodepool-gpu-taint-limit",
    description="GPU NodePools are tainted nvidia.com/gpu and limit nvidia.com/gpu",
    severity="high",
    enforcement="mandatory",
    fix="set template.spec.taints [{key: nvidia.com/gpu, value: 'true', effect: NoSchedule}] "
    "and limits {nvidia.com/gpu: maxSize x GPUs per node}",
    types=(NODE_POOL,),
    check=check,
)
