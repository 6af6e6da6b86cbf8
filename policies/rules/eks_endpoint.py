"""EKS API endpoints are private, or public only to listed, narrow CIDRs. Mandatory: a public
endpoint open to the internet exposes the cluster's API server (and any credential or
authentication bug) to every scanner; EKS's default, public with no CIDRs, is 0.0.0.0/0.

"Open to the internet" is not only the literal `0.0.0.0/0`: CIDRs whose union is the whole
address space (`0.0.0.0/1` + `128.0.0.0/1`), or more than a /8 of public addresses, are too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, falsy, get, is_list
from policies.rules._cidrs import exposure, kind, parse


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    if falsy(get(props, "vpcConfig", "endpointPublicAccess")):  # unset: EKS's default is public
        return []
    cidrs = get(props, "vpcConfig", "publicAccessCidrs")
    entries = list(cidrs) if is_list(cidrs) else [] if cidrs is None else [cidrs]
    if not entries:
        return ["the API endpoint is public to 0.0.0.0/0 (no publicAccessCidrs: EKS's default)"]
    out = [
        f"publicAccessCidrs entry {e!r} is not a CIDR"
        if isinstance(e, str)
        else f"a publicAccessCidrs entry is {kind(e)}, not a CIDR"
        for e in entries
        if parse(e) is None
    ]
    reach = exposure(entries)
    if reach is not None:
        out.append(f"the API endpoint is public to {reach}")
    return out


RULE = Rule(
    name="aws-eks-cluster-endpoint-restricted",
    description="EKS API endpoint is private or limited to known CIDRs",
    severity="critical",
    enforcement="mandatory",
    fix="set vpcConfig.endpointPublicAccess false, or publicAccessCidrs to your office/VPN",
    types=("aws:eks/cluster:Cluster",),
    check=check,
)
