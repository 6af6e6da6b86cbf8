"""Node launch templates require IMDSv2 (session tokens): a pod cannot steal the node's role
through a plain GET to the metadata service (or an SSRF that makes one for it). Mandatory: the
node role can attach network interfaces and pull every image."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, text


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    tokens = get(props, "metadataOptions", "httpTokens")
    if tokens == "required":
        return []
    return [f"metadataOptions.httpTokens is {text(tokens)!r}, not 'required'"]


RULE = Rule(
    name="aws-ec2-launch-template-imdsv2",
    description="launch templates require IMDSv2",
    severity="high",
    enforcement="mandatory",
    fix="set metadataOptions.httpTokens to required",
    types=("aws:ec2/launchTemplate:LaunchTemplate",),
    check=check,
)
