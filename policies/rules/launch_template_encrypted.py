"""Node volumes are encrypted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, truthy, unknown


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    mappings = props.get("blockDeviceMappings")
    if unknown(mappings):
        return []
    out = []
    for m in mappings or []:
        encrypted = get(m, "ebs", "encrypted")
        if get(m, "ebs") is not None and not unknown(encrypted) and not truthy(encrypted):
            out.append(f"volume {m.get('deviceName', '?')} is not encrypted")
    return out


RULE = Rule(
    name="aws-ec2-launch-template-encrypted-volumes",
    description="launch template EBS volumes are encrypted",
    severity="high",
    enforcement="mandatory",
    fix="set blockDeviceMappings[].ebs.encrypted to true",
    types=("aws:ec2/launchTemplate:LaunchTemplate",),
    check=check,
)
