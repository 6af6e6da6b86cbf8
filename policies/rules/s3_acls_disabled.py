"""S3 ownership controls disable ACLs: object ownership is BucketOwnerEnforced.

Mandatory: with BucketOwnerEnforced the bucket owns every object and ACLs no longer grant
anything, so access is decided by the bucket policy and IAM alone (the bucket policy rules check
those); ObjectWriter or BucketOwnerPreferred re-enable ACLs, and with them objects another
account writes and this one cannot read or secure.

A resource rule on `BucketOwnershipControls`, not a stack rule requiring one per bucket: S3 has
created every new bucket with ACLs disabled (BucketOwnerEnforced) since April 2023, so a bucket
with no ownership controls declared is already compliant; what can weaken it is an ownership
controls resource with another setting, which this rule catches, preview or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get

ENFORCED = "BucketOwnerEnforced"


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    ownership = get(props, "rule", "objectOwnership")
    if ownership == ENFORCED:
        return []
    return [f"object ownership is {ownership!r}, not {ENFORCED!r}: ACLs stay enabled"]


RULE = Rule(
    name="aws-s3-bucket-acls-disabled",
    description="S3 ownership controls are BucketOwnerEnforced (ACLs disabled)",
    severity="medium",
    enforcement="mandatory",
    fix="set rule.objectOwnership to BucketOwnerEnforced",
    types=("aws:s3/bucketOwnershipControls:BucketOwnershipControls",),
    check=check,
)
