"""EKS control planes send audit logs (and API logs) to CloudWatch. Mandatory: the audit log is
the only record of who did what through the Kubernetes API (secret reads, exec into pods, RBAC
changes); without it an incident cannot be reconstructed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, is_list

REQUIRED = ("api", "audit")


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    logs = get(props, "enabledClusterLogTypes")
    enabled = {t for t in logs if isinstance(t, str)} if is_list(logs) else set()
    missing = [t for t in REQUIRED if t not in enabled]
    return [f"control-plane log types missing: {', '.join(missing)}"] if missing else []


RULE = Rule(
    name="aws-eks-cluster-audit-logs",
    description="EKS control plane api and audit logs are enabled",
    severity="medium",
    enforcement="mandatory",
    fix="add api and audit to enabledClusterLogTypes",
    types=("aws:eks/cluster:Cluster",),
    check=check,
)
