"""No IAM policy allows every action on every resource."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, unknown

TYPES = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    policy = props.get("policy")
    if unknown(policy) or policy is None:
        return []
    try:
        doc = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        return ["the policy is not JSON"]
    out = []
    for s in _list(doc.get("Statement", [])):
        if not isinstance(s, Mapping) or s.get("Effect") != "Allow":
            continue
        if {"*", "*:*"} & set(map(str, _list(s.get("Action")))) and "*" in _list(s.get("Resource")):
            out.append(f"statement {s.get('Sid', '?')} allows * on *")
    return out


RULE = Rule(
    name="aws-iam-no-admin-wildcard",
    description="no IAM policy allows * actions on * resources",
    severity="critical",
    enforcement="mandatory",
    fix="list the actions and resources the workload needs",
    types=TYPES,
    check=check,
)
