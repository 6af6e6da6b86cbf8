"""MSK refuses unauthenticated clients (IAM, SCRAM or mTLS instead)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, truthy, unknown

TYPES = ("aws:msk/cluster:Cluster", "aws:msk/serverlessCluster:ServerlessCluster")


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    auth = props.get("clientAuthentication")
    if unknown(auth):
        return []
    if truthy(get(props, "clientAuthentication", "unauthenticated")):
        return ["unauthenticated access is enabled"]
    methods = [
        truthy(get(props, "clientAuthentication", "sasl", "iam")),
        truthy(get(props, "clientAuthentication", "sasl", "scram")),
        bool(get(props, "clientAuthentication", "tls", "certificateAuthorityArns")),
    ]
    return [] if any(methods) else ["no client authentication method is enabled"]


RULE = Rule(
    name="aws-msk-cluster-authenticated",
    description="MSK requires authenticated clients",
    severity="critical",
    enforcement="mandatory",
    fix="enable clientAuthentication.sasl.iam (and unauthenticated: false)",
    types=TYPES,
    check=check,
)
