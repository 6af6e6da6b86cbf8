"""No security group accepts traffic from the whole internet: `0.0.0.0/0` or `::/0` (or CIDRs
that add up to it, or to more than a /8 of public addresses), on a security group's inline
`ingress`, a `SecurityGroupIngressRule`'s `cidrIpv4` / `cidrIpv6`, or an ingress
`SecurityGroupRule`. Mandatory: everything Ascent declares (brokers, nodes) is reached from
inside the VPC or from other security groups; its internet-facing load balancers are made by
the cluster, not by this program. Egress is not checked (nodes and brokers reach out via NAT)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, as_list, get, is_list, text
from policies.rules._cidrs import exposure

TYPES = (
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
)


def _ports(rule: Mapping[str, Any], protocol_field: str) -> str:
    protocol = text(get(rule, protocol_field)) or "?"
    if protocol in ("-1", "all"):
        return "all traffic"
    low, high = get(rule, "fromPort"), get(rule, "toPort")
    if not isinstance(low, (int, float)) or not isinstance(high, (int, float)):
        return protocol
    return f"{protocol} {low:g}" if low == high else f"{protocol} {low:g}-{high:g}"


def _cidrs(rule: Mapping[str, Any], *fields: str) -> list[Any]:
    return [c for f in fields for c in as_list(get(rule, f))]


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    out = []
    ingress = get(props, "ingress")  # aws:ec2/securityGroup's inline rules
    for rule in ingress if is_list(ingress) else []:
        reach = exposure(_cidrs(rule, "cidrBlocks", "ipv6CidrBlocks"))
        if reach is not None:
            out.append(f"ingress {_ports(rule, 'protocol')} from {reach}")
    # aws:vpc/securityGroupIngressRule (always ingress)
    reach = exposure(_cidrs(props, "cidrIpv4", "cidrIpv6"))
    if reach is not None:
        out.append(f"ingress {_ports(props, 'ipProtocol')} from {reach}")
    # aws:ec2/securityGroupRule, type ingress
    if text(get(props, "type")).lower() == "ingress":
        reach = exposure(_cidrs(props, "cidrBlocks", "ipv6CidrBlocks"))
        if reach is not None:
            out.append(f"ingress {_ports(props, 'protocol')} from {reach}")
    return out


RULE = Rule(
    name="aws-ec2-security-group-no-internet-ingress",
    description="security groups accept no ingress from 0.0.0.0/0 or ::/0",
    severity="high",
    enforcement="mandatory",
    fix="allow ingress from the VPC CIDR or from a source security group "
    "(referencedSecurityGroupId / securityGroups) instead",
    types=TYPES,
    check=check,
)
