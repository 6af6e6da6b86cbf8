"""Every ECR repository of the stack has a lifecycle policy.

Advisory, not mandatory: without one, untagged layers and old images pile up (storage is billed
per GB-month, and stale images with known CVEs stay pullable), but nothing is exposed or lost,
and a repository may rightly keep every image (a release archive, an audit hold). The shipped
registry declares one per repository (`infra/aws/registry.py`). A lifecycle policy belongs to a
repository when its `repository` input came from that repository (property dependency) or,
with no such dependency, equals the repository's literal `name`.
"""

from __future__ import annotations

from policies.core import PackConfig, Resource, Rule, points_at

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"


def check(resources: list[Resource], _config: PackConfig) -> list[tuple[str, str]]:
    policies = [r for r in resources if r.type == LIFECYCLE]
    return [
        (repo.name, f"repository {repo.name} has no lifecycle policy")
        for repo in resources
        if repo.type == REPOSITORY
        and not any(points_at(p, repo, "repository", "name") for p in policies)
    ]


RULE = Rule(
    name="aws-ecr-repository-lifecycle-policy",
    description="every ECR repository has a lifecycle policy",
    severity="low",
    enforcement="advisory",
    fix="declare an aws.ecr.LifecyclePolicy with repository=<the repository>.name "
    "(see infra/aws/registry.py)",
    stack_check=check,
)
