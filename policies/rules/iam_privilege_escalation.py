"""No IAM policy allows, on every resource of their kind, the actions that let a principal
raise its own privileges: passing any role to a service (iam:PassRole), rewriting or attaching
policies (iam:CreatePolicyVersion, iam:SetDefaultPolicyVersion, iam:Attach*/Put*Policy), minting
credentials for other users (iam:CreateAccessKey, iam:CreateLoginProfile,
iam:UpdateLoginProfile), joining groups (iam:AddUserToGroup), trusting itself from any role
(iam:UpdateAssumeRolePolicy) or assuming any role (sts:AssumeRole). Mandatory: each is a known
path from a workload's role to administrator.

"Every resource" is `*` or any pattern that matches an arbitrary role / user / group / policy
ARN (`arn:aws:iam::*:role/*`), or a NotResource. Statements `aws-iam-no-admin-wildcard` already
reports (`*`, NotAction, `iam:*` on `*`) are left to it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule
from policies.rules._iam import (
    DOCUMENT_TYPES,
    GROUP_ARN,
    POLICY_ARN,
    ROLE_ARN,
    USER_ARN,
    admin_grant,
    documents,
    label_of,
)

# action -> an arbitrary resource it acts on: covering that ARN means "any".
ESCALATIONS = {
    "iam:PassRole": ROLE_ARN,
    "iam:CreatePolicyVersion": POLICY_ARN,
    "iam:SetDefaultPolicyVersion": POLICY_ARN,
    "iam:AttachRolePolicy": ROLE_ARN,
    "iam:AttachUserPolicy": USER_ARN,
    "iam:AttachGroupPolicy": GROUP_ARN,
    "iam:PutRolePolicy": ROLE_ARN,
    "iam:PutUserPolicy": USER_ARN,
    "iam:PutGroupPolicy": GROUP_ARN,
    "iam:CreateAccessKey": USER_ARN,
    "iam:CreateLoginProfile": USER_ARN,
    "iam:UpdateLoginProfile": USER_ARN,
    "iam:AddUserToGroup": GROUP_ARN,
    "iam:UpdateAssumeRolePolicy": ROLE_ARN,
    "sts:AssumeRole": ROLE_ARN,
}


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    out = []
    for doc in documents(props):
        for s in doc.statements:
            if not s.allow or admin_grant(s) is not None:
                continue
            found = [a for a, arn in ESCALATIONS.items() if s.grants(a) and s.covers(arn)]
            if found:
                message = f"statement {s.sid} allows {', '.join(found)} on any resource"
                out.append(label_of(doc, f"{message} ({s.where()}): privilege escalation"))
    return out


RULE = Rule(
    name="aws-iam-no-privilege-escalation",
    description="no IAM policy allows privilege-escalation actions on every resource",
    severity="critical",
    enforcement="mandatory",
    fix="name the roles, users, groups or policies these actions apply to (and, for "
    "iam:PassRole, an iam:PassedToService condition)",
    types=DOCUMENT_TYPES,
    check=check,
)
