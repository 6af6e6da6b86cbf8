"""Node launch templates give nodes no public IP (`networkInterfaces[].associatePublicIpAddress`
not true). Mandatory: Ascent's nodes live in private subnets and reach out through NAT; a public
address puts every node port (kubelet, NodePorts, hostNetwork pods) one security-group mistake
away from the internet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, is_list, truthy


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    interfaces = get(props, "networkInterfaces")
    out = []
    for i, nic in enumerate(interfaces if is_list(interfaces) else []):
        if truthy(get(nic, "associatePublicIpAddress")):
            index = get(nic, "deviceIndex")
            which = f"{index:g}" if isinstance(index, (int, float)) else f"#{i}"
            out.append(f"network interface {which} associates a public IP address")
    return out


RULE = Rule(
    name="aws-ec2-launch-template-no-public-ip",
    description="launch templates give nodes no public IP address",
    severity="high",
    enforcement="mandatory",
    fix="set networkInterfaces[].associatePublicIpAddress false (or leave it unset) and "
    "run nodes in private subnets",
    types=("aws:ec2/launchTemplate:LaunchTemplate",),
    check=check,
)
