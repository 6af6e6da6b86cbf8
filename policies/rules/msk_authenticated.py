"""MSK refuses unauthenticated clients (IAM, SCRAM or mTLS instead). Mandatory: an
unauthenticated listener lets anything in the VPC read and write every topic.

Provisioned MSK (`aws:msk/cluster:Cluster`) spells IAM `clientAuthentication.sasl.iam: true`;
MSK Serverless (`aws:msk/serverlessCluster:ServerlessCluster`, IAM only) spells it
`clientAuthentication.sasl.iam.enabled: true`. Both count."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, is_list, truthy

TYPES = ("aws:msk/cluster:Cluster", "aws:msk/serverlessCluster:ServerlessCluster")


def _on(value: Any) -> bool:
    """`true`, or `{enabled: true}` (the serverless shape)."""
    return truthy(value) or truthy(get(value, "enabled"))


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    auth = get(props, "clientAuthentication")
    if truthy(get(auth, "unauthenticated")):
        return ["unauthenticated access is enabled"]
    authorities = get(auth, "tls", "certificateAuthorityArns")
    methods = [
        _on(get(auth, "sasl", "iam")),
        _on(get(auth, "sasl", "scram")),
        is_list(authorities) and len(authorities) > 0,
    ]
    return [] if any(methods) else ["no client authentication method is enabled"]


RULE = Rule(
    name="aws-msk-cluster-authenticated",
    description="MSK requires authenticated clients",
    severity="critical",
    enforcement="mandatory",
    fix="enable clientAuthentication.sasl.iam (serverless: sasl.iam.enabled) and keep "
    "unauthenticated false",
    types=TYPES,
    check=check,
)
