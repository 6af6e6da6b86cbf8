"""Facts as data: the GPU instance families Ascent knows, and what each instance type carries.

Sources: AWS EC2 accelerated-computing instance pages (aws.amazon.com/ec2/instance-types/),
read 2026-11. Prices live beside these facts once the cost estimate needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Arch = Literal["x86_64", "arm64"]


@dataclass(frozen=True)
class GpuFamily:
    """An EC2 instance family with NVIDIA GPUs."""

    family: str
    gpu_model: str
    arch: Arch
    gpus_by_size: dict[str, int]


def _family(family: str, gpu_model: str, arch: Arch, **sizes: int) -> GpuFamily:
    # Keyword names cannot start with a digit: `x12` stands for the size `12xlarge`.
    return GpuFamily(
        family,
        gpu_model,
        arch,
        {(k[1:] + "xlarge" if k[1:].isdigit() else k): v for k, v in sizes.items()},
    )


GPU_FAMILIES: dict[str, GpuFamily] = {
    f.family: f
    for f in (
        _family("g4dn", "T4", "x86_64", xlarge=1, x2=1, x4=1, x8=1, x16=1, x12=4, metal=8),
        _family("g5", "A10G", "x86_64", xlarge=1, x2=1, x4=1, x8=1, x16=1, x12=4, x24=4, x48=8),
        _family("g5g", "T4G", "arm64", xlarge=1, x2=1, x4=1, x8=1, x16=2, metal=2),
        _family("g6", "L4", "x86_64", xlarge=1, x2=1, x4=1, x8=1, x16=1, x12=4, x24=4, x48=8),
        _family("gr6", "L4", "x86_64", x4=1, x8=1),
        _family("g6e", "L40S", "x86_64", xlarge=1, x2=1, x4=1, x8=1, x16=1, x12=4, x24=4, x48=8),
        _family("p4d", "A100", "x86_64", x24=8),
        _family("p4de", "A100", "x86_64", x24=8),
        _family("p5", "H100", "x86_64", x4=1, x48=8),
        _family("p5e", "H200", "x86_64", x48=8),
        _family("p5en", "H200", "x86_64", x48=8),
    )
}


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


# EKS managed add-on versions per Kubernetes version. Source: 2026 pins seen in public Terraform
# (vpc-cni, coredns, kube-proxy, eks-pod-identity-agent), to confirm before a bump with
# `aws eks describe-addon-versions --addon-name NAME --kubernetes-version X.Y`.
EKS_ADDON_VERSIONS: dict[str, dict[str, str]] = {
    "1.34": {
        "vpc-cni": "v1.22.4-eksbuild.3",
        "coredns": "v1.12.4-eksbuild.29",
        "kube-proxy": "v1.34.6-eksbuild.21",
        "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
    },
    "1.35": {
        "vpc-cni": "v1.22.4-eksbuild.3",
        "coredns": "v1.13.2-eksbuild.21",
        "kube-proxy": "v1.35.3-eksbuild.21",
        "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
    },
    "1.36": {
        "vpc-cni": "v1.22.4-eksbuild.3",
        "coredns": "v1.14.6-eksbuild.4",
        "kube-proxy": "v1.36.0-eksbuild.25",
        "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
    },
}
