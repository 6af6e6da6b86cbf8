"""Images are pinned: a tag other than `latest`, or a digest. An untagged image means latest.

Mandatory: a moving tag makes a rollback, a node replacement or a scale-up pull different code
than the preview showed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import PackConfig, Rule, get, unknown
from policies.rules._k8s import WORKLOAD_TYPES, containers, name


def tag_problem(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag (means latest)"
    if last.rsplit(":", 1)[1] == "latest":
        return "uses the latest tag"
    return None


def check(props: Mapping[str, Any], _config: PackConfig) -> list[str]:
    out = []
    for c in containers(props):
        image = get(c, "image")
        if unknown(image) or not isinstance(image, str):
            continue
        problem = tag_problem(image)
        if problem:
            out.append(f"container {name(c)}: image {image} {problem}")
    return out


RULE = Rule(
    name="k8s-pinned-images",
    description="images are pinned by tag or digest, never latest",
    severity="high",
    enforcement="mandatory",
    fix="use the commit SHA tag (CI sets ascent:imageTag) or an @sha256 digest",
    types=WORKLOAD_TYPES,
    check=check,
)
