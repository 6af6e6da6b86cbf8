"""EKS control planes send audit logs (and API logs) to CloudWatch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, unknown

REQUIRED = ("api", "audit")


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    logs = props.get("enabledClusterLogTypes")
    if unknown(logs):
        return []
    missing = [t for t in REQUIRED if t not in (logs or [])]
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
