"""Node volumes are encrypted. Mandatory: node disks hold image layers, checkpoints being
written and pod scratch data (datasets, model weights) that must not outlive the node readable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, is_list, text, truthy


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    mappings = get(props, "blockDeviceMappings")
    out = []
    for m in mappings if is_list(mappings) else []:
        if get(m, "ebs") is not None and not truthy(get(m, "ebs", "encrypted")):
            out.append(f"volume {text(get(m, 'deviceName')) or '?'} is not encrypted")
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
