"""Container registry: one private ECR repository per image, immutable tags, scanned on push.

Repositories are named `<project>-<stack>/<image>` so stacks sharing an account do not collide.
Lifecycle rules expire untagged layers and keep only the most recent tagged images.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.contract import IMAGES

_IMAGE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*$")


@dataclass(frozen=True)
class RegistryArgs:
    repositories: tuple[str, ...] = IMAGES
    force_delete: bool = False
    untagged_expiry_days: int = 7
    keep_tagged_images: int = 50

    def __post_init__(self) -> None:
        if not self.repositories:
            raise ValueError("repositories must name at least one image")
        if len(set(self.repositories)) != len(self.repositories):
            raise ValueError(f"repositories must be unique, got {self.repositories}")
        bad = [r for r in self.repositories if not _IMAGE.match(r)]
        if bad:
            raise ValueError(f"repositories must be lowercase image names, got {bad}")
        for field in ("untagged_expiry_days", "keep_tagged_images"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(self, field)}")


def lifecycle_policy(untagged_expiry_days: int, keep_tagged_images: int) -> dict[str, Any]:
    """An ECR lifecycle policy: untagged images expire; only the newest tagged ones stay."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Expire untagged images after {untagged_expiry_days} days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": untagged_expiry_days,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep the last {keep_tagged_images} tagged images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_tagged_images,
                },
                "action": {"type": "expire"},
            },
        ]
    }


class Registry(pulumi.ComponentResource):
    """ECR repositories for the platform's images, encrypted with their own KMS key."""

    repository_urls: dict[str, pulumi.Output[str]]
    repository_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ascent:aws:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"{pulumi.get_project()}-{pulumi.get_stack()}"

        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the {prefix} container images",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=child,
        )
        policy = json.dumps(lifecycle_policy(args.untagged_expiry_days, args.keep_tagged_images))

        self.repository_urls = {}
        self.repository_arns = {}
        for image in args.repositories:
            repo = aws.ecr.Repository(
                f"{name}-{image}",
                name=f"{prefix}/{image}",
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                    scan_on_push=True
                ),
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(
                        encryption_type="KMS", kms_key=key.arn
                    )
                ],
                force_delete=args.force_delete,
                opts=child,
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-{image}-lifecycle", repository=repo.name, policy=policy, opts=child
            )
            self.repository_urls[image] = repo.repository_url
            self.repository_arns[image] = repo.arn

        self.register_outputs(
            {"repositoryUrls": self.repository_urls, "repositoryArns": self.repository_arns}
        )
