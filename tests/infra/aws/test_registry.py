"""infra.aws.registry: immutable, scanned, KMS-encrypted ECR repositories with lifecycle rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.aws.registry import Registry, RegistryArgs, lifecycle_policy
from infra.contract import IMAGES
from infra.offline import Inventory, Resource, run_function

COMPONENT = "ascent:aws:Registry"
REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"


def run(args: RegistryArgs | None = None, stack: str = "aws-dev") -> Inventory:
    def program() -> dict[str, Any]:
        registry = Registry("registry", args or RegistryArgs())
        return {"urls": registry.repository_urls, "arns": registry.repository_arns}

    return run_function(program, stack=stack)


def by_name(resources: list[Resource]) -> dict[str, Resource]:
    return {r.name: r for r in resources}


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return run()


# lifecycle_policy


@pytest.mark.parametrize(("untagged_days", "keep"), [(7, 50), (1, 1), (30, 200)])
def test_lifecycle_policy_expires_untagged_and_keeps_last_tagged(untagged_days, keep):
    untagged, tagged = lifecycle_policy(untagged_days, keep)["rules"]
    assert untagged["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": untagged_days,
    }
    assert tagged["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": ["*"],
        "countType": "imageCountMoreThan",
        "countNumber": keep,
    }
    assert untagged["action"] == tagged["action"] == {"type": "expire"}
    assert untagged["rulePriority"] < tagged["rulePriority"]


# RegistryArgs


def test_args_default_to_the_contract_images():
    args = RegistryArgs()
    assert args.repositories == IMAGES
    assert (args.force_delete, args.untagged_expiry_days, args.keep_tagged_images) == (
        False,
        7,
        50,
    )


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"repositories": ()}, "at least one"),
        ({"repositories": ("training", "training")}, "unique"),
        ({"repositories": ("Training",)}, "lowercase"),
        ({"repositories": ("a/b c",)}, "lowercase"),
        ({"untagged_expiry_days": 0}, "untagged_expiry_days"),
        ({"keep_tagged_images": 0}, "keep_tagged_images"),
    ],
)
def test_args_refuse_bad_values(kwargs, named):
    with pytest.raises(ValueError, match=named):
        RegistryArgs(**kwargs)


# the component


def test_children_are_parented_to_the_component(inv):
    [component] = inv.of_type(COMPONENT)
    children = inv.children(component.urn)
    assert {r.urn for r in inv.custom()} == {r.urn for r in children}
    assert all(r.name.startswith("registry-") for r in children)


def test_kms_key_rotates(inv):
    [key] = inv.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30


def test_one_repository_per_image_named_by_project_and_stack(inv):
    repos = by_name(inv.of_type(REPOSITORY))
    assert set(repos) == {f"registry-{image}" for image in IMAGES}
    for image in IMAGES:
        assert repos[f"registry-{image}"].inputs["name"] == f"ascent-aws-dev/{image}"


def test_repository_name_follows_the_stack():
    inv = run(RegistryArgs(repositories=("training",)), stack="aws-prod")
    [repo] = inv.of_type(REPOSITORY)
    assert repo.inputs["name"] == "ascent-aws-prod/training"


def test_repositories_are_immutable_scanned_and_kms_encrypted(inv):
    [key] = inv.of_type("aws:kms/key:Key")
    key_arn = f"arn:aws:kms:us-east-1:123456789012:key/{key.name}"  # the mock's answer
    for repo in inv.of_type(REPOSITORY):
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE", repo.name
        assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}, repo.name
        assert repo.inputs["encryptionConfigurations"] == [
            {"encryptionType": "KMS", "kmsKey": key_arn}
        ], repo.name


@pytest.mark.parametrize("force_delete", [True, False])
def test_force_delete_follows_args(force_delete):
    inv = run(RegistryArgs(force_delete=force_delete))
    assert [r.inputs["forceDelete"] for r in inv.of_type(REPOSITORY)] == [force_delete] * len(
        IMAGES
    )


@pytest.mark.parametrize(("untagged_days", "keep"), [(7, 50), (3, 10)])
def test_each_repository_gets_the_lifecycle_policy(untagged_days, keep):
    inv = run(RegistryArgs(untagged_expiry_days=untagged_days, keep_tagged_images=keep))
    repos = by_name(inv.of_type(REPOSITORY))
    policies = by_name(inv.of_type(LIFECYCLE))
    assert set(policies) == {f"{name}-lifecycle" for name in repos}
    for name, repo in repos.items():
        policy = policies[f"{name}-lifecycle"]
        assert policy.inputs["repository"] == repo.inputs["name"]
        assert json.loads(policy.inputs["policy"]) == lifecycle_policy(untagged_days, keep)


def test_custom_repositories_and_outputs_keyed_by_image():
    inv = run(RegistryArgs(repositories=("scorer", "trainer-gpu")))
    assert {r.inputs["name"] for r in inv.of_type(REPOSITORY)} == {
        "ascent-aws-dev/scorer",
        "ascent-aws-dev/trainer-gpu",
    }
    assert set(inv.outputs["arns"]) == set(inv.outputs["urls"]) == {"scorer", "trainer-gpu"}
    assert inv.outputs["arns"]["scorer"].endswith(":registry-scorer")
