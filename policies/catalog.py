"""The GPU instance families Ascent knows and what each instance type carries, read from the
pack's own data (`policies/data/gpu_families.json`), which the program shares the other way
round (`infra/catalog.py`). Source: the AWS EC2 accelerated-computing instance pages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Arch = Literal["x86_64", "arm64"]


@dataclass(frozen=True)
class GpuFamily:
    """An EC2 instance family with NVIDIA GPUs."""

    family: str
    gpu_model: str
    arch: Arch
    gpus_by_size: dict[str, int]


def _load() -> dict[str, GpuFamily]:
    doc = json.loads((Path(__file__).resolve().parent / "data" / "gpu_families.json").read_text())
    return {
        name: GpuFamily(name, f["gpuModel"], f["arch"], dict(f["gpusBySize"]))
        for name, f in doc["families"].items()
    }


GPU_FAMILIES: dict[str, GpuFamily] = _load()


def split_instance_type(instance_type: str) -> tuple[str, str]:
    """`g5.2xlarge` -> (`g5`, `2xlarge`); a clear error for anything else."""
    family, sep, size = instance_type.partition(".")
    if not sep or not family or not size:
        raise ValueError(f"{instance_type!r} is not an EC2 instance type (expected FAMILY.SIZE)")
    return family, size


def gpu_family(instance_type: str) -> GpuFamily:
    """The GPU family of an instance type; ValueError naming the type if it has no GPUs."""
    family, size = split_instance_type(instance_type)
    info = GPU_FAMILIES.get(family)
    if info is None:
        raise ValueError(
            f"{instance_type!r} is not a GPU instance type "
            f"(GPU families: {', '.join(sorted(GPU_FAMILIES))})"
        )
    if size not in info.gpus_by_size:
        raise ValueError(
            f"{instance_type!r}: unknown size for family {family} "
            f"(sizes: {', '.join(info.gpus_by_size)})"
        )
    return info


def gpu_count(instance_type: str) -> int:
    """NVIDIA GPUs on one node of this instance type."""
    return gpu_family(instance_type).gpus_by_size[split_instance_type(instance_type)[1]]


def is_gpu_instance_type(instance_type: str) -> bool:
    try:
        gpu_family(instance_type)
    except ValueError:
        return False
    return True
