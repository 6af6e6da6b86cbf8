"""EKS clusters encrypt Kubernetes Secrets with a KMS key (envelope encryption). Mandatory:
without it Secrets sit in etcd protected only by AWS's disk encryption, and who may decrypt them
cannot be governed or audited through a key policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, is_list


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    config = get(props, "encryptionConfig")
    resources = get(config, "resources")
    if not (is_list(resources) and "secrets" in resources):
        return ["Kubernetes Secrets are not encrypted with a KMS key"]
    key = get(config, "provider", "keyArn")
    if not (isinstance(key, str) and key):
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
