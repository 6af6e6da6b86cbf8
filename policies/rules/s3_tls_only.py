"""S3 bucket policies deny every request that does not use TLS."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, unknown


def denies_plain_http(statement: Mapping[str, Any]) -> bool:
    return (
        statement.get("Effect") == "Deny"
        and statement.get("Principal") in ("*", {"AWS": "*"})
        and statement.get("Action") in ("s3:*", ["s3:*"])
        and str(get(statement, "Condition", "Bool", "aws:SecureTransport")).lower() == "false"
    )


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    policy = props.get("policy")
    if unknown(policy):
        return []
    try:
        doc = json.loads(policy) if isinstance(policy, str) else policy or {}
        statements = doc.get("Statement", [])
    except (ValueError, AttributeError):
        return ["the bucket policy is not a JSON policy document"]
    if not any(denies_plain_http(s) for s in statements if isinstance(s, Mapping)):
        return ["no statement denies s3:* when aws:SecureTransport is false"]
    return []


RULE = Rule(
    name="aws-s3-bucket-tls-only",
    description="S3 bucket policies deny requests without TLS",
    severity="high",
    enforcement="mandatory",
    fix='add {"Effect":"Deny","Principal":"*","Action":"s3:*",'
    '"Condition":{"Bool":{"aws:SecureTransport":"false"}}}',
    types=("aws:s3/bucketPolicy:BucketPolicy",),
    check=check,
)
