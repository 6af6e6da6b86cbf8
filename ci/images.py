"""The images the pipeline builds, how they are tagged and labelled, and the records steps share.

`build` writes `build.json` (local image per name); `push` writes `release.json` (repository,
tag and digest per name), which `preview` and `deploy` read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci.revision import Revision
from ci.shell import ROOT, StepFailed

LOCAL_PREFIX = "ascent"  # local names: ascent/<image>:<tag>; push re-tags into the registry
BUILD_RECORD = "build.json"
RELEASE_RECORD = "release.json"
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_NAME = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*$")


@dataclass(frozen=True)
class ImageSpec:
    name: str
    dockerfile: Path
    context: Path


def discover(root: Path = ROOT) -> list[ImageSpec]:
    """One image per `workloads/<name>/Dockerfile`, built from the repository root."""
    return [
        ImageSpec(path.parent.name, path, root)
        for path in sorted((root / "workloads").glob("*/Dockerfile"))
    ]


def parse_image(step: str, text: str, context: Path) -> ImageSpec:
    """`NAME=PATH/TO/Dockerfile` (the `--image` flag)."""
    name, sep, path = text.partition("=")
    if not sep or not _NAME.match(name):
        raise StepFailed(step, f"--image wants NAME=PATH/TO/Dockerfile, got {text!r}")
    dockerfile = Path(path).resolve()
    if not dockerfile.is_file():
        raise StepFailed(step, f"--image {name}: no Dockerfile at {dockerfile}")
    return ImageSpec(name, dockerfile, context.resolve())


def check_tag(step: str, tag: str) -> str:
    if tag.lower() == "latest":
        raise StepFailed(step, "refusing the tag 'latest': images are tagged with the commit SHA")
    if not _TAG.match(tag):
        raise StepFailed(step, f"{tag!r} is not a valid image tag")
    return tag


def branch_tag(branch: str | None) -> str | None:
    """The branch as a tag for humans (`feature/x` -> `feature-x`); never `latest`."""
    if not branch:
        return None
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", branch).lstrip(".-")[:128]
    return tag if tag and tag.lower() != "latest" else None


def oci_labels(rev: Revision) -> dict[str, str]:
    return {
        "org.opencontainers.image.source": rev.source,
        "org.opencontainers.image.revision": rev.sha,
        "org.opencontainers.image.created": rev.created,
    }


def parse_pairs(step: str, flag: str, pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise StepFailed(step, f"{flag} wants KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def write_record(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_record(step: str, path: Path, made_by: str) -> dict[str, Any]:
    if not path.is_file():
        raise StepFailed(step, f"no {path.name} at {path}: run `python -m ci {made_by}` first")
    data: dict[str, Any] = json.loads(path.read_text())
    return data
