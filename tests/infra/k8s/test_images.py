"""`ascent:images`: the workloads run the digests CI pushed or promoted, whatever `imageTag`."""

from __future__ import annotations

import pytest

from infra.config import ConfigError, parse_config
from infra.k8s.render import manifest

DIGEST = "sha256:" + "cd" * 32
PINNED = {
    "training": f"registry-b.example.com/ascent/training@{DIGEST}",
    "inference": f"registry-b.example.com/ascent/inference@{DIGEST}",
}


def _images(doc: object) -> list[str]:
    """Every `image` of every container and init container in a manifest."""
    found: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "image" and isinstance(value, str):
                found.append(value)
            else:
                found += _images(value)
    elif isinstance(doc, list):
        for item in doc:
            found += _images(item)
    return found


@pytest.mark.parametrize("stack", ["local", "aws-prod"])
def test_every_workload_runs_the_pinned_digest(run_stack, stack):
    inv = run_stack(stack, images=[f"{n}={ref}" for n, ref in PINNED.items()])
    ours = [r for r in inv.custom() if r.type.startswith("kubernetes:")
            and r.type.split(":")[-1] in ("Deployment", "CronJob", "Job")
            and r.name.startswith("workloads-")]  # fmt: skip
    # the trainer's template, inference, the scorer, the feature stage, and on MSK the topics Job
    assert len(ours) == (5 if stack == "aws-prod" else 4), [r.name for r in ours]
    for res in ours:
        images = _images(manifest(res))
        assert images and set(images) <= set(PINNED.values()), (res.name, images)


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (["inference=reg/ascent/inference:v1"], "NAME=REPOSITORY@sha256"),
        (["serving=reg/x@" + DIGEST], "unknown image(s) serving"),
        ([f"inference=reg/a@{DIGEST}", f"inference=reg/b@{DIGEST}"], "names each image once"),
    ],
)
def test_a_pinned_image_must_be_a_known_image_by_digest(lines, problem):
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_config({"ascent:images": lines})


def test_an_up_without_images_after_a_pinned_deploy_is_refused(inventories):
    """CI sets `ascent:images` in its own copy of the stack file; a manual `pulumi up` from a
    fresh checkout must not roll the workloads back to imageTag without saying so."""
    from infra.offline import Inventory, run_function, stack_config
    from infra.program import main

    cloud = inventories["aws-prod"].layers["aws-prod"]
    previous = Inventory(stack="aws-prod-k8s", outputs={"pinnedImages": PINNED})
    stacks = {"aws-prod": cloud, "aws-prod-k8s": previous}
    with pytest.raises(ValueError, match=r"last ran pinned images .* by digest, set by CI"):
        run_function(lambda: main(inherit_layers=False), stack="aws-prod-k8s",
                     config=stack_config("aws-prod-k8s"), stacks=stacks)  # fmt: skip
    pinned = stack_config(
        "aws-prod-k8s", overrides={"images": [f"{n}={r}" for n, r in PINNED.items()]}
    )
    inv = run_function(lambda: main(inherit_layers=False), stack="aws-prod-k8s", config=pinned,
                       stacks=stacks)  # fmt: skip
    assert inv.outputs["pinnedImages"] == dict(sorted(PINNED.items()))
    by_tag = stack_config("aws-prod-k8s", overrides={"imageTag": "0123abc"})  # a rollback by tag
    assert run_function(lambda: main(inherit_layers=False), stack="aws-prod-k8s", config=by_tag,
                        stacks=stacks).outputs["pinnedImages"] == {}  # fmt: skip
    fresh = {"aws-prod": cloud}  # no earlier update of aws-prod-k8s
    first = run_function(lambda: main(inherit_layers=False), stack="aws-prod-k8s",
                         config=stack_config("aws-prod-k8s"), stacks=fresh)  # fmt: skip
    assert first.outputs["pinnedImages"] == {}  # a first deploy by tag is fine
