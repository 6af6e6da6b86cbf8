"""EKS clusters encrypt Kubernetes Secrets with a KMS key (envelope encryption)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, unknown


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    config = props.get("encryptionConfig")
    if unknown(config):
        return []
    if "secrets" not in (get(props, "encryptionConfig", "resources") or []):
        return ["Kubernetes Secrets are not encrypted with a KMS key"]
    if not get(props, "encryptionConfig", "provider", "keyArn"):
        return ["encryptionConfig names no KMS key"]
    return []


RULE = Rule(
    name="aws-eks-cluster-secrets-encryption",
    description="EKS clusters encrypt Secrets with KMS",
    severity="high",
    enforcement="mandatory",
    fix="set encryptionConfig {resources: [secrets], provider.keyArn: <KMS key>}",
    types=("aws:eks/cluster:Cluster",),
    check=check,
)
