"""EKS API endpoints are private, or public only to listed CIDRs, never 0.0.0.0/0."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, truthy, unknown


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    public = get(props, "vpcConfig", "endpointPublicAccess")
    if unknown(public) or public is False or public == "false":
        return []
    cidrs = get(props, "vpcConfig", "publicAccessCidrs")
    if unknown(cidrs):
        return []
    if (public is None or truthy(public)) and (not cidrs or "0.0.0.0/0" in cidrs):
        return ["the API endpoint is public to 0.0.0.0/0"]
    return []


RULE = Rule(
    name="aws-eks-cluster-endpoint-restricted",
    description="EKS API endpoint is private or limited to known CIDRs",
    severity="critical",
    enforcement="mandatory",
    fix="set vpcConfig.endpointPublicAccess false, or publicAccessCidrs to your office/VPN",
    types=("aws:eks/cluster:Cluster",),
    check=check,
)
