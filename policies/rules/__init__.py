"""Every rule of the pack, one per module (modules starting with `_` are shared helpers)."""

from __future__ import annotations

from policies.core import Rule
from policies.rules import (
    ecr_immutable,
    ecr_scan,
    eks_audit_logs,
    eks_endpoint,
    eks_secrets_encryption,
    iam_no_wildcard,
    k8s_gpu_pod,
    k8s_no_privileged,
    k8s_pinned_images,
    k8s_readiness_probe,
    k8s_resources,
    k8s_run_as_non_root,
    launch_template_encrypted,
    launch_template_imdsv2,
    msk_authenticated,
    msk_encryption_at_rest,
    msk_tls,
    nodegroup_gpu_family,
    nodegroup_gpu_taint,
    nodegroup_training_spot,
    s3_controls_present,
    s3_encryption,
    s3_public_access,
    s3_tls_only,
    s3_versioning,
    stack_budget,
    stack_budget_verifiable,
    stack_gpu_nodes,
)

RULES: tuple[Rule, ...] = tuple(
    m.RULE
    for m in (
        s3_encryption, s3_versioning, s3_public_access, s3_tls_only, s3_controls_present,
        eks_endpoint, eks_secrets_encryption, eks_audit_logs,
        launch_template_imdsv2, launch_template_encrypted,
        nodegroup_gpu_taint, nodegroup_gpu_family, nodegroup_training_spot,
        msk_tls, msk_authenticated, msk_encryption_at_rest,
        ecr_scan, ecr_immutable, iam_no_wildcard,
        k8s_resources, k8s_gpu_pod, k8s_no_privileged, k8s_run_as_non_root, k8s_pinned_images,
        k8s_readiness_probe,
        stack_gpu_nodes, stack_budget, stack_budget_verifiable,
    )
)  # fmt: skip
