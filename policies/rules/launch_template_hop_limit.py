"""Node launch templates keep the metadata service's PUT response hop limit at 1
(`metadataOptions.httpPutResponseHopLimit`), so a pod (one hop behind the node's network
namespace) cannot get an IMDSv2 token and, with it, the node role's credentials (which can
manage network interfaces and pull every image). Unset is reported too: EKS and the AL2023
AMIs then default to 2.

Mandatory: Ascent's pods get AWS credentials from EKS Pod Identity (the agent on
169.254.170.23, which the hop limit does not touch) and are given their region, so none needs
IMDS; the add-ons that do (vpc-cni, kube-proxy, the Pod Identity agent) run on the host network,
zero hops away. With Pod Identity (or IRSA) 1 is AWS's EKS recommendation; 2 only serves pods
that take the node's own identity, which is what this rule refuses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, text

FIELD = "metadataOptions.httpPutResponseHopLimit"


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    limit = get(props, "metadataOptions", "httpPutResponseHopLimit")
    if limit is None:
        return [f"{FIELD} is unset (EKS and AL2023 default to 2: pods can reach IMDS)"]
    if isinstance(limit, bool) or not isinstance(limit, (int, float)):
        return [f"{FIELD} is {text(limit)!r}, not a number of hops"]
    if limit > 1:
        return [f"{FIELD} is {limit:g}: pods can reach IMDS and the node role's credentials"]
    return []


RULE = Rule(
    name="aws-ec2-launch-template-imds-hop-limit",
    description="launch templates keep the IMDS hop limit at 1 (pods use Pod Identity)",
    severity="high",
    enforcement="mandatory",
    fix="set metadataOptions.httpPutResponseHopLimit to 1",
    types=("aws:ec2/launchTemplate:LaunchTemplate",),
    check=check,
)
