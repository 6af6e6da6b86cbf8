"""MSK encrypts in transit: TLS only between clients and brokers, and inside the cluster.
Mandatory: Kafka carries the platform's transactions and scores; plaintext listeners expose them
(and SASL credentials) to anything on the network path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, falsy, get, text

MSK = "aws:msk/cluster:Cluster"


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    client = get(props, "encryptionInfo", "encryptionInTransit", "clientBroker")
    in_cluster = get(props, "encryptionInfo", "encryptionInTransit", "inCluster")
    out = []
    if client is not None and client != "TLS":  # unset: MSK's default is TLS
        out.append(f"client-broker traffic is {text(client)!r}, not TLS only")
    if falsy(in_cluster):
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
