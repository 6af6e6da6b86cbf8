"""Where GPU workloads land: the labels and taint every GPU pool carries, on either target.

On AWS the node pools set them; on a local cluster, label and taint the GPU nodes to match
(`kubectl label node N ascent.dev/pool=NAME ...`,
`kubectl taint node N nvidia.com/gpu=true:NoSchedule`).
"""

from __future__ import annotations

from infra.config import GpuPool
from infra.contract import GpuPoolInfo

LABEL_PREFIX = "ascent.dev"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT = {"key": GPU_RESOURCE, "value": "true", "effect": "NoSchedule"}
"""Only pods that tolerate it (and ask for GPUs) land on GPU nodes."""


def gpu_pool_labels(pool: GpuPool) -> dict[str, str]:
    """The labels every node of the pool carries: `gpu-model` only when all its instance types
    share one (a pool mixing L40S and L4 nodes would otherwise label some of them wrongly)."""
    labels = {
        f"{LABEL_PREFIX}/pool": pool.name,
        f"{LABEL_PREFIX}/purpose": pool.purpose,
        f"{LABEL_PREFIX}/capacity-type": pool.capacity_type,
        "nvidia.com/gpu.present": "true",
    }
    if pool.shared_gpu_model is not None:
        labels[f"{LABEL_PREFIX}/gpu-model"] = pool.shared_gpu_model
    return labels


def gpu_pool_info(pool: GpuPool, labels: dict[str, str] | None = None) -> GpuPoolInfo:
    """The pool as the Kubernetes layer sees it; `labels`: what its nodes carry, if a target
    adds to the shared ones (EKS: the accelerator label)."""
    return GpuPoolInfo(
        name=pool.name,
        purpose=pool.purpose,
        labels=gpu_pool_labels(pool) if labels is None else labels,
        taints=[GPU_TAINT],
        gpus_per_node=pool.gpus_per_node,
        max_nodes=pool.max_size,
        device_plugin_builtin=pool.device_plugin_builtin,
    )
