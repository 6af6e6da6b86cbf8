"""S3 buckets encrypt at rest with KMS (SSE-KMS), not only the S3-managed default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, unknown


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    rules = props.get("rules")
    if unknown(rules):
        return []
    algorithms = [get(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") for r in rules or []]
    if not any(a in ("aws:kms", "aws:kms:dsse") for a in algorithms):
        return [f"default encryption is {algorithms or 'not set'}, not aws:kms"]
    return []


RULE = Rule(
    name="aws-s3-bucket-sse-kms",
    description="S3 buckets use SSE-KMS default encryption",
    severity="high",
    enforcement="mandatory",
    fix="set applyServerSideEncryptionByDefault.sseAlgorithm to aws:kms with a KMS key",
    types=(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    ),
    check=check,
)
