"""How far a set of CIDRs reaches into the internet, for the EKS endpoint and security-group
rules: the literal `0.0.0.0/0` is only one way to open to everyone (`0.0.0.0/1` + `128.0.0.0/1`,
or a public `/4`, are others)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from policies.core import is_list, is_map

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges that are not on the internet: RFC 1918, carrier-grade NAT (RFC 6598), IPv6 ULA.
_PRIVATE: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
_WHOLE = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}
# The most public addresses one list may open: a /8 (IPv4), a /32 (IPv6, an ISP's allocation).
_BROADEST = {4: 8, 6: 32}
_SHOWN = 4


def parse(value: Any) -> Network | None:
    """A CIDR (or a bare address) as a network; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def kind(value: Any) -> str:
    """A JSON value's kind, for messages about values of the wrong shape."""
    if is_map(value):
        return "an object"
    if is_list(value):
        return "a list"
    return "null" if value is None else type(value).__name__


def is_private(net: Network) -> bool:
    return any(net.version == p.version and net.subnet_of(p) for p in _PRIVATE)  # type: ignore[arg-type]


def exposure(cidrs: Iterable[Any]) -> str | None:
    """How these CIDRs open to the internet ("0.0.0.0/0", "more than a /8 of public addresses:
    ..."), or None when they stay private or narrow. Entries that are not CIDRs are ignored."""
    nets = [n for n in map(parse, cidrs) if n is not None]
    for version in (4, 6):
        family = [n for n in nets if n.version == version]
        if not family:
            continue
        union = list(ipaddress.collapse_addresses(family))  # type: ignore[type-var]
        if union == [_WHOLE[version]]:
            return str(_WHOLE[version])
        public = [n for n in union if not is_private(n)]
        bits = 32 if version == 4 else 128
        if sum(n.num_addresses for n in public) > 2 ** (bits - _BROADEST[version]):
            broad = sorted(public, key=lambda n: n.prefixlen)[:_SHOWN]
            more = " ..." if len(public) > _SHOWN else ""
            return (
                f"more than a /{_BROADEST[version]} of public addresses "
                f"({', '.join(map(str, broad))}{more})"
            )
    return None
