"""ECR repositories scan images on push."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, truthy, unknown


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    scan = get(props, "imageScanningConfiguration", "scanOnPush")
    return [] if truthy(scan) or unknown(scan) else ["images are not scanned on push"]


RULE = Rule(
    name="aws-ecr-repository-scan-on-push",
    description="ECR repositories scan on push",
    severity="medium",
    enforcement="mandatory",
    fix="set imageScanningConfiguration.scanOnPush true",
    types=("aws:ecr/repository:Repository",),
    check=check,
)
