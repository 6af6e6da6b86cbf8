"""Provisioned MSK encrypts its volumes with a customer-managed KMS key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, unknown


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    key = get(props, "encryptionInfo", "encryptionAtRestKmsKeyArn")
    return [] if key or unknown(key) else ["no KMS key for encryption at rest"]


RULE = Rule(
    name="aws-msk-cluster-kms-at-rest",
    description="MSK encrypts data at rest with a KMS key",
    severity="medium",
    enforcement="mandatory",
    fix="set encryptionInfo.encryptionAtRestKmsKeyArn",
    types=("aws:msk/cluster:Cluster",),
    check=check,
)
