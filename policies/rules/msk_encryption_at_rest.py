"""Provisioned MSK encrypts its volumes with a customer-managed KMS key. Mandatory: with the
AWS-owned default key, who may read the broker volumes (and their snapshots) cannot be governed or
audited by the team's key policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    key = get(props, "encryptionInfo", "encryptionAtRestKmsKeyArn")
    return [] if isinstance(key, str) and key else ["no KMS key for encryption at rest"]


RULE = Rule(
    name="aws-msk-cluster-kms-at-rest",
    description="MSK encrypts data at rest with a KMS key",
    severity="medium",
    enforcement="mandatory",
    fix="set encryptionInfo.encryptionAtRestKmsKeyArn",
    types=("aws:msk/cluster:Cluster",),
    check=check,
)
