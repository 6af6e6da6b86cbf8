"""MSK encrypts in transit: TLS only between clients and brokers, and inside the cluster."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, unknown

MSK = "aws:msk/cluster:Cluster"


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    client = get(props, "encryptionInfo", "encryptionInTransit", "clientBroker")
    in_cluster = get(props, "encryptionInfo", "encryptionInTransit", "inCluster")
    out = []
    if not unknown(client) and client not in (None, "TLS"):  # unset: MSK's default is TLS
        out.append(f"client-broker traffic is {client!r}, not TLS only")
    if in_cluster is False:
        out.append("broker-to-broker traffic is not encrypted")
    return out


RULE = Rule(
    name="aws-msk-cluster-tls-only",
    description="MSK clients and brokers talk TLS only",
    severity="high",
    enforcement="mandatory",
    fix="set encryptionInfo.encryptionInTransit {clientBroker: TLS, inCluster: true}",
    types=(MSK,),
    check=check,
)
