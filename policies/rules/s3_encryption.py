"""S3 buckets encrypt at rest with KMS (SSE-KMS or DSSE-KMS), not only the S3-managed default.

Mandatory: with SSE-KMS, reading an object also needs the key, so the key policy and CloudTrail's
key-use records guard and audit every dataset and model; SSE-S3 (AES256) is decrypted for anyone
S3 lets read. The V2 resource type is checked the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, as_list, get, text

SSE = "BucketServerSideEncryptionConfiguration"
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    algorithms = [
        get(r, "applyServerSideEncryptionByDefault", "sseAlgorithm")
        for r in as_list(props.get("rules"))
    ]
    if not any(isinstance(a, str) and a in KMS_ALGORITHMS for a in algorithms):
        shown = ", ".join(text(a) or "unset" for a in algorithms) or "not set"
        return [f"default encryption is {shown}, not aws:kms"]
    return []


RULE = Rule(
    name="aws-s3-bucket-sse-kms",
    description="S3 buckets use SSE-KMS default encryption",
    severity="high",
    enforcement="mandatory",
    fix="set applyServerSideEncryptionByDefault.sseAlgorithm to aws:kms with a KMS key",
    types=(f"aws:s3/bucket{SSE[6:]}:{SSE}", f"aws:s3/bucket{SSE[6:]}V2:{SSE}V2"),
    check=check,
)
