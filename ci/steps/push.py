"""`push`: the built images to the registry, by their SHA tag; their digests go to
`release.json`, which `preview` and `deploy` read.

The branch tag stays local: ECR repositories are immutable, so a moving tag cannot be pushed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import docker

from ci import registry as registries
from ci.engine import connect
from ci.images import BUILD_RECORD, RELEASE_RECORD, read_record, write_record
from ci.shell import StepFailed, say

STEP = "push"
_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


def digest_of(chunks: Iterable[dict[str, Any]], ref: str) -> str:
    """The pushed manifest's digest from the push stream (Docker's `aux`, Podman's status)."""
    digest = None
    for chunk in chunks:
        if "error" in chunk:
            raise StepFailed(STEP, f"{ref}: {chunk['error'].strip()}")
        aux = chunk.get("aux") or {}
        found = _DIGEST.search(chunk.get("status", ""))
        digest = aux.get("Digest") or (found.group(1) if found else None) or digest
    if digest is None:
        raise StepFailed(STEP, f"{ref}: the engine reported no digest")
    return str(digest)


def push_one(
    client: docker.DockerClient, local: str, repository: str, tag: str, auth: dict[str, str] | None
) -> str:
    client.images.get(local).tag(repository, tag)
    say(STEP, f"{local} -> {repository}:{tag}")
    stream = client.api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth)
    digest = digest_of(stream, f"{repository}:{tag}")
    say(STEP, f"{repository}@{digest}")
    return digest


def push(out: Path, registry: str | None = None, stack: str | None = None) -> int:
    build = read_record(STEP, out / BUILD_RECORD, "build")
    target = registry or os.environ.get("ASCENT_REGISTRY")
    if not target and stack:
        target = registries.for_stack(STEP, stack)
    if not target:
        raise StepFailed(STEP, "no registry: pass --registry, --stack or set ASCENT_REGISTRY")
    target = target.rstrip("/")
    auth = registries.login(STEP, target)
    client = connect(STEP)
    tag = build["tag"]
    images = {
        name: {
            "repository": f"{target}/{name}",
            "tag": tag,
            "digest": push_one(client, image["ref"], f"{target}/{name}", tag, auth),
        }
        for name, image in build["images"].items()
    }
    write_record(out / RELEASE_RECORD, {"registry": target, "tag": tag, "images": images})
    say(STEP, f"{len(images)} image(s) pushed; digests in {out / RELEASE_RECORD}")
    return 0
