"""No role, user or group gets an AWS-managed administrator policy attached: AdministratorAccess,
PowerUserAccess (everything but IAM, enough to reach admin through services that take a role)
or IAMFullAccess (which grants itself the rest). Mandatory: these attachments are the wildcard
policies `aws-iam-no-admin-wildcard` refuses, by ARN instead of by document.

Read on the policy attachments (`policyArn`), the exclusive attachment sets (`policyArns`) and a
Role's `managedPolicyArns`, in every AWS partition."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, as_list, get

ADMIN_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
ADMIN_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:iam::aws:policy/(?:" + "|".join(ADMIN_POLICIES) + r")", re.IGNORECASE
)
TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
    "aws:iam/role:Role",
)
FIELDS = ("policyArn", "policyArns", "managedPolicyArns")


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    arns = [a for f in FIELDS for a in as_list(get(props, f)) if isinstance(a, str)]
    return [
        f"attaches {arn.rsplit('/', 1)[-1]} ({arn})"
        for arn in arns
        if ADMIN_ARN.fullmatch(arn.strip())
    ]


RULE = Rule(
    name="aws-iam-no-admin-policy-attachment",
    description="no AdministratorAccess, PowerUserAccess or IAMFullAccess attachment",
    severity="critical",
    enforcement="mandatory",
    fix="attach a policy listing the actions and resources the principal needs",
    types=TYPES,
    check=check,
)
