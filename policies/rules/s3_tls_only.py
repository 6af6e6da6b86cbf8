"""S3 bucket policies deny every request that does not use TLS, on the bucket and its objects.

Mandatory: without it a client can read or write artifacts over plain HTTP (credentials are
signed, but the data is not encrypted in transit). The deny must cover both the bucket ARN and
`ARN/*`: object requests (GetObject, PutObject) match only the object resources, so a deny scoped
to the bucket ARN leaves every object reachable over HTTP. The deny applies to every principal
(`"*"`, `{"AWS": "*"}` or `{"AWS": ["*"]}`), every S3 action (`s3:*` or `*`), and carries no other
condition than `aws:SecureTransport` false (another condition would narrow it).

This rule also reports a policy that is not a JSON policy document (the other bucket-policy rule
skips those).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, as_list, falsy, is_map, text
from policies.rules._iam import glob
from policies.rules._policy_doc import everyone, policy_document, statements

OBJECT_PROBE = "/any-object-key"


def _only_insecure_transport(condition: Any) -> bool:
    """The condition is exactly `{"Bool": {"aws:SecureTransport": "false"}}` (or BoolIfExists)."""
    if not is_map(condition):
        return False
    clauses = [
        (text(op), text(key).lower(), values)
        for op, keyed in condition.items()
        for key, values in (keyed.items() if is_map(keyed) else [(None, keyed)])
    ]
    if len(clauses) != 1:
        return False
    op, key, values = clauses[0]
    return (
        op in ("Bool", "BoolIfExists")
        and key == "aws:securetransport"
        and bool(as_list(values))
        and all(falsy(v) for v in as_list(values))
    )


def denies_plain_http(statement: Mapping[str, Any]) -> bool:
    return (
        statement.get("Effect") == "Deny"
        and everyone(statement.get("Principal"))
        and any(a in ("s3:*", "*") for a in as_list(statement.get("Action")))
        and _only_insecure_transport(statement.get("Condition"))
    )


def covers_bucket_and_objects(resources: list[str]) -> bool:
    """Some listed bucket ARN (no `/`) whose objects (`ARN/...`) the list covers too."""
    return any(
        "/" not in arn and any(glob(p, arn + OBJECT_PROBE) for p in resources) for arn in resources
    )


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    doc, problem = policy_document(props.get("policy"))
    if problem is not None:
        return [f"the bucket policy is {problem}"]
    denies = [s for s in statements(doc) if denies_plain_http(s)]
    if not denies:
        return ["no statement denies s3:* to every principal when aws:SecureTransport is false"]
    resources = [r for s in denies for r in as_list(s.get("Resource")) if isinstance(r, str)]
    if not covers_bucket_and_objects(resources):
        listed = ", ".join(resources) or "no Resource"
        return [f"the TLS deny covers {listed}, not both the bucket ARN and its objects (ARN/*)"]
    return []


RULE = Rule(
    name="aws-s3-bucket-tls-only",
    description="S3 bucket policies deny requests without TLS",
    severity="high",
    enforcement="mandatory",
    fix='add {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":[ARN,"ARN/*"],'
    '"Condition":{"Bool":{"aws:SecureTransport":"false"}}}',
    types=("aws:s3/bucketPolicy:BucketPolicy",),
    check=check,
)
