"""Tags every resource carries, so a deployment's resources (and its orphans) can be found."""

from __future__ import annotations

import hashlib

import pulumi

from infra.config import StackConfig


def deployment_id(project: str, stack: str) -> str:
    """A short id, stable for a project/stack pair, unique enough to find orphans by tag."""
    return hashlib.sha256(f"{project}/{stack}".encode()).hexdigest()[:10]


def default_tags(config: StackConfig) -> dict[str, str]:
    project, stack = pulumi.get_project(), pulumi.get_stack()
    return {
        "ascent:project": project,
        "ascent:stack": stack,
        "ascent:deployment-id": deployment_id(project, stack),
        "ascent:environment": config.environment,
        "owner": config.owner,
        "cost-center": config.cost_center,
        "managed-by": "pulumi",
    }
