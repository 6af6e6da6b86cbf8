"""Day 2: the second `pulumi up`.

A release changes only `imageTag`; the update must touch only what runs the image (the
Deployments' pod templates, the training run template's pod template) and nothing else, or an
image bump would restart, replace or reconfigure unrelated objects. And the program must set
no field that another manager owns in the cluster: under server-side apply the next `up`
conflicts with the manager that changed it (pulumi-kubernetes#2491, `.spec.replicas` and
kube-controller-manager) or silently resets it (a burst scaled back to the minimum).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from infra.k8s.render import _plain
from infra.offline import Inventory, Resource
from tests.infra.k8s.conftest import VARIANTS

STACKS = ("local", "aws-dev", "aws-prod")
CASES = {"local": ("local", {}), "aws-prod": ("aws-prod", {}), "multi-node": VARIANTS["multi-node"]}
NEW_TAG = "3f9c0d1e2b4a"  # the next commit
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CRON_JOB = "kubernetes:batch/v1:CronJob"
IMAGE_RUNNERS = {
    # (type, object name): where its pod template is
    (DEPLOYMENT, "inference"): ("spec", "template"),
    (DEPLOYMENT, "scorer"): ("spec", "template"),
    (DEPLOYMENT, "features"): ("spec", "template"),
    (CRON_JOB, "trainer"): ("spec", "jobTemplate", "spec", "template"),
    # the topics bootstrap on MSK (auto-named: its logical name), rerun on a new image
    ("kubernetes:batch/v1:Job", "workloads-topics-job"): ("spec", "template"),
}

# Set in the cluster by others; the program must not set them.
WEBHOOK_ENV = {
    # EKS Pod Identity's webhook (the eks-pod-identity-agent credentials endpoint)
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    # IRSA's pod-identity-webhook
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_STS_REGIONAL_ENDPOINTS",
}
WEBHOOK_VOLUMES = {"eks-pod-identity-token", "aws-iam-token"}
CONTROLLER_ANNOTATIONS = {
    "deployment.kubernetes.io/revision",  # the Deployment controller
    "kubectl.kubernetes.io/restartedAt",  # `kubectl rollout restart`
    "kubectl.kubernetes.io/last-applied-configuration",  # client-side apply
}
CONTROLLER_LABELS = {
    "kubernetes.io/metadata.name",  # the API server, on Namespaces
    "batch.kubernetes.io/job-name",  # the Job controller, on its pods
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "controller-uid",
}
OWNED_KEYS = {
    "caBundle",  # cert-manager's cainjector (or the operator itself) fills it in
    "ownerReferences",  # garbage collection, set by controllers
    "nodeName",  # the scheduler
    "healthCheckNodePort",  # Service allocators
    "nodePort",
}


def kube(inv: Inventory) -> list[Resource]:
    """Every Kubernetes object the program declares (Helm releases are Helm's)."""
    return [r for r in inv.custom() if r.type.startswith("kubernetes:") and "helm.sh" not in r.type]


def obj_name(res: Resource) -> str:
    return str((res.inputs.get("metadata") or {}).get("name") or res.name)


def diff(a: Any, b: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths where `a` and `b` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(a.keys() | b.keys())
        return [p for k in keys for p in diff(a.get(k), b.get(k), (*path, k))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        pairs = enumerate(zip(a, b, strict=True))
        return [p for i, (x, y) in pairs for p in diff(x, y, (*path, i))]
    return [] if a == b else [path]


def walk(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) under `value`, dict keys included as the path's last element."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, (*path, i))


def pod_specs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec") or {}
    if "jobTemplate" in spec:
        spec = spec["jobTemplate"].get("spec") or {}
    template = spec.get("template") if isinstance(spec, dict) else None
    return [template["spec"]] if isinstance(template, dict) and "spec" in template else []


def autoscaled(inv: Inventory) -> set[str]:
    """The Deployments an HPA or a KEDA ScaledObject scales (KEDA makes an HPA of its own)."""
    targets = set()
    for res in inv.custom():
        if res.type.endswith((":HorizontalPodAutoscaler", ":ScaledObject")):
            ref = res.inputs["spec"]["scaleTargetRef"]
            assert ref.get("kind", "Deployment") == "Deployment"
            targets.add(ref["name"])
    return targets


@pytest.fixture(scope="module")
def releases(inventories, variants, run_stack) -> dict[str, tuple[Inventory, Inventory]]:
    """Each case as shipped, and again with only `imageTag` changed."""
    out = {}
    for case, (stack, overrides) in CASES.items():
        before = variants[case] if case in VARIANTS else inventories[stack]
        out[case] = (before, run_stack(stack, **overrides, imageTag=NEW_TAG))
    return out


@pytest.mark.parametrize("case", CASES)
def test_an_image_bump_changes_only_the_pod_templates(releases, case):
    before, after = releases[case]
    old = {r.urn: r for r in before.custom()}
    new = {r.urn: r for r in after.custom()}
    assert old.keys() == new.keys(), "an image bump creates or deletes resources"
    changed = {}
    for urn, res in old.items():
        paths = diff(_plain(res.inputs), _plain(new[urn].inputs))
        if paths:
            changed[(res.type, obj_name(res))] = paths
    assert set(changed) == {
        k for k in IMAGE_RUNNERS if k[1] in {obj_name(r) for r in before.custom()}
    }
    for key, paths in changed.items():
        template = IMAGE_RUNNERS[key]
        for path in paths:
            assert path[: len(template)] == template, (key, path)
            assert path[-1] == "image", (key, path)  # the image reference, and nothing else
    assert before.outputs == after.outputs


def problems(res: Resource, scaled: set[str]) -> list[str]:
    """The fields of `res` another manager owns (empty: none)."""
    doc = _plain(res.inputs)
    name = f"{res.type} {obj_name(res)}"
    found = []
    if res.type == DEPLOYMENT and obj_name(res) in scaled and "replicas" in doc["spec"]:
        found.append(f"{name}: spec.replicas (its autoscaler's)")
    for path, value in walk(doc):
        key = path[-1] if path else None
        if key in OWNED_KEYS:
            found.append(f"{name}: {'.'.join(map(str, path))}")
        if key == "annotations" and isinstance(value, dict):
            owned = set(value) & CONTROLLER_ANNOTATIONS
            owned |= {k for k in value if k.startswith("cert-manager.io/")}
            found += [f"{name}: annotation {k}" for k in sorted(owned)]
        if key == "labels" and isinstance(value, dict):
            found += [f"{name}: label {k}" for k in sorted(set(value) & CONTROLLER_LABELS)]
    if "status" in doc:
        found.append(f"{name}: status")
    if res.type == "kubernetes:core/v1:Service" and doc["spec"].get("clusterIP", "None") != "None":
        found.append(f"{name}: spec.clusterIP (allocated by the API server)")
    for pod in pod_specs(doc):
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            env = {e["name"] for e in c.get("env", [])}
            found += [f"{name}: env {e} (a webhook's)" for e in sorted(env & WEBHOOK_ENV)]
            mounts = {m["name"] for m in c.get("volumeMounts", [])}
            found += [f"{name}: mount {m} (a webhook's)" for m in sorted(mounts & WEBHOOK_VOLUMES)]
        volumes = {v["name"] for v in pod.get("volumes", [])}
        found += [f"{name}: volume {v} (a webhook's)" for v in sorted(volumes & WEBHOOK_VOLUMES)]
    if res.type == CRON_JOB:
        spec = doc["spec"]["jobTemplate"]["spec"]
        found += [f"{name}: {k} (the Job controller's)" for k in ("selector", "manualSelector")
                  if k in spec]  # fmt: skip
    return found


@pytest.mark.parametrize("where", [*STACKS, *VARIANTS])
def test_no_field_another_manager_owns_is_set(inventories, variants, where):
    inv = inventories[where] if where in inventories else variants[where]
    scaled = autoscaled(inv)
    assert "inference" in scaled  # always the HPA's
    assert ("scorer" in scaled) == bool(inv.of_type("kubernetes:keda.sh/v1alpha1:ScaledObject"))
    assert [p for res in kube(inv) for p in problems(res, scaled)] == []


def test_the_ownership_check_catches_what_issue_17_found(inventories):
    """The check itself: a replica count on the autoscaled Deployment (as before issue 17) and
    the Pod Identity webhook's credentials variable are both reported."""
    inv = inventories["aws-prod"]
    (inference,) = [r for r in inv.of_type(DEPLOYMENT) if obj_name(r) == "inference"]
    doc = _plain(inference.inputs)
    doc["spec"]["replicas"] = 2
    env = doc["spec"]["template"]["spec"]["containers"][0]["env"]
    env.append({"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1"})
    bad = replace(inference, inputs=doc)
    assert problems(bad, autoscaled(inv)) == [
        f"{DEPLOYMENT} inference: spec.replicas (its autoscaler's)",
        f"{DEPLOYMENT} inference: env AWS_CONTAINER_CREDENTIALS_FULL_URI (a webhook's)",
    ]
