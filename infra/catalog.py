"""Facts as data for the program: the GPU catalog (owned by the policy pack, which must stand
alone, and shared with the program from there) and the EKS managed add-on versions."""

from __future__ import annotations

from policies.catalog import (
    GPU_FAMILIES,
    Arch,
    GpuFamily,
    gpu_count,
    gpu_family,
    is_gpu_instance_type,
    split_instance_type,
)

__all__ = [
    "EKS_ADDON_VERSIONS",
    "GPU_FAMILIES",
    "Arch",
    "GpuFamily",
    "gpu_count",
    "gpu_family",
    "is_gpu_instance_type",
    "split_instance_type",
]

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
