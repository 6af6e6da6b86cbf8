"""Provisioned MSK brokers are not reachable from the internet
(`brokerNodeGroupInfo.connectivityInfo.publicAccess.type` unset or DISABLED). Mandatory: Ascent's
clients are its pods, inside the VPC; public brokers put the Kafka listeners (and their
authentication) on the internet for nobody's benefit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, text

PATH = ("brokerNodeGroupInfo", "connectivityInfo", "publicAccess", "type")


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    kind = get(props, *PATH)
    if kind is None or (isinstance(kind, str) and kind.upper() == "DISABLED"):
        return []
    return [f"public access to the brokers is {text(kind)!r}, not DISABLED"]


RULE = Rule(
    name="aws-msk-cluster-no-public-access",
    description="MSK brokers are not publicly accessible",
    severity="critical",
    enforcement="mandatory",
    fix="set brokerNodeGroupInfo.connectivityInfo.publicAccess.type DISABLED (or leave it unset)",
    types=("aws:msk/cluster:Cluster",),
    check=check,
)
