"""Every plain Kubernetes object of every stack validates, strictly, against the API schema of
the configured Kubernetes version."""

from __future__ import annotations

import kubernetes_validate
import pytest

from infra.config import parse_config
from infra.k8s.render import manifests
from infra.offline import stack_config


@pytest.mark.parametrize("stack", ["local", "aws-dev", "aws-prod"])
def test_rendered_objects_validate_strictly(inventories, stack):
    version = parse_config(stack_config(stack)).kubernetes_version + ".0"
    docs = manifests(inventories[stack])
    assert docs, "no plain Kubernetes objects to validate"
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_validation_rejects_an_unknown_field():
    doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}, "spek": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, "1.35.0", strict=True)
