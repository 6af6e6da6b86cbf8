"""A pod that tolerates the GPU taint asks for a GPU: the taint keeps everything else off the
GPU nodes, and a CPU pod that tolerates it (a toleration for `nvidia.com/gpu`, or one with no
key and operator Exists, which tolerates every taint) can land there, take the room a GPU pod
needs and keep an expensive node from scaling down.

Mandatory: the waste is silent and costs GPU-node prices. DaemonSets are not checked: node
agents (the NVIDIA device plugin, DCGM exporter, log and metrics agents) must run on GPU nodes
without using a GPU, and a DaemonSet pod takes no GPU node's room that it would not take anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule
from policies.rules._k8s import (
    CRON_JOB,
    DEPLOYMENT,
    GPU,
    JOB,
    POD,
    STATEFUL_SET,
    gpu_tolerations,
    wants_gpu,
)


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    if wants_gpu(props) or not gpu_tolerations(props):
        return []
    return [f"tolerates the {GPU} taint but asks for no GPU (it can take a GPU node's room)"]


RULE = Rule(
    name="k8s-gpu-toleration-needs-gpu",
    description="only pods that ask for a GPU tolerate the GPU taint",
    severity="medium",
    enforcement="mandatory",
    fix=f"drop the {GPU} toleration (and any key-less Exists toleration), or request a GPU",
    types=(POD, DEPLOYMENT, STATEFUL_SET, JOB, CRON_JOB),
    check=check,
)
