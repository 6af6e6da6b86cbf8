"""No IAM policy grants administrator-like access: every action (`*`, on any resource), every
action but a few (NotAction with Allow), or every IAM action on every resource (`iam:*` on `*`,
which lets the holder grant itself anything). Mandatory: any of these turns one leaked pod or
node credential into the whole account.

Read on `aws:iam` policies' `policy` and on a Role's `inlinePolicies[].policy`. Narrower
privilege-escalation grants (iam:PassRole on *, ...) are `aws-iam-no-privilege-escalation`'s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule
from policies.rules._iam import DOCUMENT_TYPES, admin_grant, documents, label_of


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    out = []
    for doc in documents(props):
        if doc.problem is not None:
            out.append(label_of(doc, doc.problem))
        for s in doc.statements:
            finding = admin_grant(s)
            if finding is not None:
                out.append(label_of(doc, finding))
    return out


RULE = Rule(
    name="aws-iam-no-admin-wildcard",
    description="no IAM policy allows * actions, NotAction, or iam:* on * resources",
    severity="critical",
    enforcement="mandatory",
    fix="list the actions and resources the workload needs (Action, not NotAction)",
    types=DOCUMENT_TYPES,
    check=check,
)
