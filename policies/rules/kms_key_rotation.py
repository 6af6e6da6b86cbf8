"""KMS keys rotate their key material automatically (yearly by default).

Mandatory: every key here encrypts long-lived data (the artifact bucket, images, EKS secrets,
Kafka storage); rotation bounds how much is ever encrypted under one key material, and costs
nothing to turn on. AWS rotates only symmetric encryption keys held in KMS itself, so
asymmetric and HMAC keys and keys in a custom key store are not checked (rotation cannot be
enabled there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, falsy, truthy

SYMMETRIC = "SYMMETRIC_DEFAULT"


def rotatable(props: Mapping[str, Any]) -> bool:
    spec = props.get("customerMasterKeySpec")
    usage = props.get("keyUsage")
    return (
        spec in (None, SYMMETRIC)
        and usage in (None, "ENCRYPT_DECRYPT")
        and not props.get("customKeyStoreId")
        and not props.get("xksKeyId")
    )


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    rotation = props.get("enableKeyRotation")
    if truthy(rotation) or not rotatable(props):
        return []
    return [f"key rotation is {'off' if falsy(rotation) else 'not enabled (off by default)'}"]


RULE = Rule(
    name="aws-kms-key-rotation-enabled",
    description="symmetric KMS keys have automatic key rotation enabled",
    severity="medium",
    enforcement="mandatory",
    fix="set enableKeyRotation true",
    types=("aws:kms/key:Key",),
    check=check,
)
