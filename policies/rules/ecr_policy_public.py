"""No ECR repository policy allows anyone (Principal "*") without a condition that pins who.

Mandatory: the registry is private; an Allow to `"*"` / `{"AWS": "*"}` lets every AWS account
pull the platform's images (code, dependencies, sometimes weights) or, with push actions,
replace them. A statement stays private when a condition restricts the caller to a fixed
account or organisation (`aws:PrincipalOrgID`, `aws:SourceAccount`, ...); see
`s3_policy_public` for what counts as restricting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule
from policies.rules._policy_doc import policy_document, public_allows


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    doc, problem = policy_document(props.get("policy"))
    if problem is not None:
        return [f"the repository policy is {problem}"]
    return [
        f"statement {name} allows any principal (Principal *) with no condition restricting "
        "the caller"
        for name, _ in public_allows(doc)
    ]


RULE = Rule(
    name="aws-ecr-repository-policy-no-public-principal",
    description="ECR repository policies allow no Principal * without a restricting condition",
    severity="high",
    enforcement="mandatory",
    fix="name the principals (account roots, roles), or add a condition such as aws:PrincipalOrgID",
    types=("aws:ecr/repositoryPolicy:RepositoryPolicy",),
    check=check,
)
