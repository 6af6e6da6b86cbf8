"""S3 buckets block every kind of public access (all four settings).

Mandatory: the block is the account-side backstop behind the bucket policy and ACL rules; with
all four set, neither a public ACL nor a public policy can take effect, even one added later
outside this program.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, truthy

BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    off = [b for b in BLOCKS if not truthy(props.get(b))]
    return [f"public access not blocked: {', '.join(off)} false or unset"] if off else []


RULE = Rule(
    name="aws-s3-bucket-public-access-block",
    description="S3 buckets set all four public access blocks",
    severity="critical",
    enforcement="mandatory",
    fix="set blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets",
    types=("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",),
    check=check,
)
