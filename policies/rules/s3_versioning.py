"""S3 buckets keep versions: an overwrite or delete of a model or checkpoint can be undone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, unknown


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    status = get(props, "versioningConfiguration", "status")
    if unknown(status) or status == "Enabled":
        return []
    return [f"versioning status is {status!r}, not 'Enabled'"]


RULE = Rule(
    name="aws-s3-bucket-versioning",
    description="S3 buckets have versioning enabled",
    severity="medium",
    enforcement="mandatory",
    fix="set versioningConfiguration.status to Enabled",
    types=("aws:s3/bucketVersioning:BucketVersioning",),
    check=check,
)
