"""No KMS key policy allows anyone (Principal "*") to use or manage the key without a condition
that pins the caller.

Mandatory: a key policy is the key's only gate; an Allow of `kms:*` or `*` to `"*"` /
`{"AWS": "*"}` hands every AWS account the key (decrypt every object and image it protects, or
schedule its deletion). Allows of a narrower action list to `"*"` are caught too: `kms:Decrypt`
for everyone is as public as `kms:*`. A statement stays private when a condition restricts the
caller to a fixed account or organisation (`kms:CallerAccount`, `aws:PrincipalOrgID`, ...), as
AWS-managed key policies do; see `s3_policy_public` for what counts as restricting. A key with
no `policy` gets the default one (this account's root) and passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, as_list, text
from policies.rules._policy_doc import policy_document, public_allows

TYPES = (
    "aws:kms/key:Key",
    "aws:kms/keyPolicy:KeyPolicy",
    "aws:kms/replicaKey:ReplicaKey",
    "aws:kms/externalKey:ExternalKey",
    "aws:kms/replicaExternalKey:ReplicaExternalKey",
)


def _actions(statement: Mapping[str, Any]) -> str:
    actions = [text(a) for a in as_list(statement.get("Action"))]
    if any(a in ("*", "kms:*") for a in actions):
        return "every KMS action"
    return ", ".join(actions) or "every action but its NotAction"


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    doc, problem = policy_document(props.get("policy"))
    if problem is not None:
        return [f"the key policy is {problem}"]
    return [
        f"statement {name} allows {_actions(s)} to any principal (Principal *) with no "
        "condition restricting the caller"
        for name, s in public_allows(doc)
    ]


RULE = Rule(
    name="aws-kms-key-policy-no-public-principal",
    description="KMS key policies allow no Principal * without a restricting condition",
    severity="critical",
    enforcement="mandatory",
    fix="grant the key to named principals (the account root, roles), or add a condition such "
    "as kms:CallerAccount",
    types=TYPES,
    check=check,
)
