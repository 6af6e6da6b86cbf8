"""S3 buckets keep versions: an overwrite or delete of a model or checkpoint can be undone.

Mandatory: the artifact bucket is the only copy of trained models and checkpoints; without
versions a bad write or a compromised writer destroys them for good (lifecycle rules expire old
versions, so the cost stays bounded). The V2 resource type is checked the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get

TYPES = (
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
)


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    status = get(props, "versioningConfiguration", "status")
    if status == "Enabled":
        return []
    return [f"versioning status is {status!r}, not 'Enabled'"]


RULE = Rule(
    name="aws-s3-bucket-versioning",
    description="S3 buckets have versioning enabled",
    severity="medium",
    enforcement="mandatory",
    fix="set versioningConfiguration.status to Enabled",
    types=TYPES,
    check=check,
)
