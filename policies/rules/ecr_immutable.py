"""ECR tags are immutable: a tag names one image forever (deploys and rollbacks rely on it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, unknown


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    mutability = props.get("imageTagMutability")
    if unknown(mutability) or mutability == "IMMUTABLE":
        return []
    return [f"tag mutability is {mutability or 'MUTABLE (default)'}"]


RULE = Rule(
    name="aws-ecr-repository-immutable-tags",
    description="ECR repositories have immutable tags",
    severity="medium",
    enforcement="mandatory",
    fix="set imageTagMutability IMMUTABLE",
    types=("aws:ecr/repository:Repository",),
    check=check,
)
