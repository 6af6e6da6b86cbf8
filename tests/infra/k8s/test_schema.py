"""Every plain Kubernetes object of every stack and variant, and the Job `ascent train` makes
from each stack's run template, validates strictly against the API schema of the oldest and the
newest Kubernetes version the config allows (and every version between)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from infra.config import SUPPORTED_KUBERNETES_VERSIONS
from infra.k8s.render import manifests
from infra.offline import Inventory
from infra.train import job_from_template
from tests.infra.k8s.conftest import VARIANTS

STACKS = ("local", "aws-dev", "aws-prod")
OLDEST, NEWEST = SUPPORTED_KUBERNETES_VERSIONS[0], SUPPORTED_KUBERNETES_VERSIONS[-1]


def inventory(inventories, variants, where: str) -> Inventory:
    return inventories[where] if where in inventories else variants[where]


def run_jobs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Job of a run of each template CronJob, as `ascent train` submits it."""
    return [job_from_template(d, "trainer-20261201-120000") for d in docs if d["kind"] == "CronJob"]


def test_the_versions_are_the_oldest_and_newest_the_config_allows():
    assert (OLDEST, NEWEST) == ("1.34", "1.36")


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES_VERSIONS)
@pytest.mark.parametrize("where", [*STACKS, *VARIANTS])
def test_rendered_objects_validate_strictly(inventories, variants, where, version):
    docs = manifests(inventory(inventories, variants, where))
    assert docs, "no plain Kubernetes objects to validate"
    runs = run_jobs(docs)
    assert len(runs) == 1, "one run template per stack"
    for doc in docs + runs:
        kubernetes_validate.validate(doc, version + ".0", strict=True)


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES_VERSIONS)
@pytest.mark.parametrize("where", [*STACKS, *VARIANTS])
def test_the_feature_stage_is_among_the_validated_objects(inventories, variants, where, version):
    docs = manifests(inventory(inventories, variants, where))
    (stage,) = [
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "features"
    ]
    assert stage["metadata"]["namespace"] == "training"
    kubernetes_validate.validate(stage, version + ".0", strict=True)


def test_validation_rejects_an_unknown_field():
    doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}, "spek": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, "1.35.0", strict=True)


def test_the_oldest_schema_catches_a_pod_condition_without_status(inventories):
    """The issue-17 regression: 1.34 requires `status` in podFailurePolicy's onPodConditions
    (1.35 and later default it), so validating only the configured 1.35 missed it."""
    (run,) = run_jobs(manifests(inventories["aws-prod"]))
    rules = run["spec"]["podFailurePolicy"]["rules"]
    del rules[0]["onPodConditions"][0]["status"]
    kubernetes_validate.validate(run, NEWEST + ".0", strict=True)
    with pytest.raises(kubernetes_validate.ValidationError, match="status"):
        kubernetes_validate.validate(run, OLDEST + ".0", strict=True)
