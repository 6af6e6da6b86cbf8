"""`build`: each image under `workloads/` (or given by `--image`), through the Docker API.

Tagged with the commit SHA (and the branch, for humans), never `latest`; labelled with the OCI
source, revision and created annotations; `--build-arg BASE_IMAGE=...` picks the base;
`--cache-from REF` (`{name}` is replaced by the image name) reuses a registry cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker

from ci import registry as registries
from ci import revision
from ci.engine import connect
from ci.images import (
    BUILD_RECORD,
    LOCAL_PREFIX,
    ImageSpec,
    branch_tag,
    check_tag,
    discover,
    oci_labels,
    write_record,
)
from ci.shell import StepFailed, say

STEP = "build"


def stack_cache(stack: str) -> dict[str, str]:
    """The images `stack` last ran (name -> repository@digest), as a build cache: ECR tags are
    immutable, so the previous release by digest is the cache. None yet: an empty cache."""
    from ci.steps.promote import stack_release

    try:
        release = stack_release(stack)
    except StepFailed as exc:
        say(STEP, f"no cache from stack {stack}: {exc}")
        return {}
    return {n: f"{i['repository']}@{i['digest']}" for n, i in release["images"].items()}


def pull_cache(client: docker.DockerClient, refs: list[str]) -> list[str]:
    """Pull the cache images that exist; a missing cache only makes the build slower."""
    found = []
    for ref in refs:
        try:
            client.images.pull(ref, auth_config=registries.login(STEP, ref.split("@")[0]))
        except docker.errors.APIError as exc:
            say(STEP, f"cache {ref} not available ({exc.explanation}); building without it")
            continue
        except StepFailed as exc:  # no registry login: no cache, not a failed build
            say(STEP, f"cache {ref} not available ({exc}); building without it")
            continue
        say(STEP, f"cache {ref} pulled")
        found.append(ref)
    return found


def build_one(
    client: docker.DockerClient,
    spec: ImageSpec,
    tags: list[str],
    build_args: dict[str, str],
    labels: dict[str, str],
    cache_from: list[str],
) -> str:
    repo = f"{LOCAL_PREFIX}/{spec.name}"
    say(STEP, f"{spec.name}: {spec.dockerfile} in {spec.context} -> {repo}:{tags[0]}")
    stream = client.api.build(
        path=str(spec.context),
        dockerfile=str(spec.dockerfile),
        tag=f"{repo}:{tags[0]}",
        buildargs=build_args,
        labels=labels,
        cache_from=cache_from or None,
        rm=True,
        forcerm=True,
        decode=True,
    )
    for chunk in stream:
        if "error" in chunk:
            raise StepFailed(STEP, f"{spec.name}: {chunk['error'].strip()}")
        text = chunk.get("stream", "")
        if text.strip():
            print(text, end="" if text.endswith("\n") else "\n", flush=True)
    image = client.images.get(f"{repo}:{tags[0]}")
    for extra in tags[1:]:
        image.tag(repo, extra)
    say(STEP, f"{spec.name}: {image.id} tagged {', '.join(f'{repo}:{t}' for t in tags)}")
    return str(image.id)


def build(
    specs: list[ImageSpec] | None,
    out: Path,
    tag: str | None = None,
    build_args: dict[str, str] | None = None,
    cache_from: list[str] | None = None,
    cache_images: dict[str, str] | None = None,
) -> int:
    """Build every image; `cache_from` templates (`{name}`) and `cache_images` (name -> the
    image a stack last ran, by digest) seed the layer cache."""
    rev = revision.current(STEP)
    primary = check_tag(STEP, tag or rev.sha)
    tags = [primary] + [t for t in [branch_tag(rev.branch)] if t and t != primary]
    images = specs if specs is not None else discover()
    if not images:
        raise StepFailed(STEP, "no images: no workloads/*/Dockerfile and no --image")
    client = connect(STEP)
    labels = oci_labels(rev)
    record: dict[str, Any] = {"revision": rev.sha, "tag": primary, "images": {}}
    for spec in images:
        wanted = [r.replace("{name}", spec.name) for r in cache_from or []]
        wanted += [(cache_images or {})[spec.name]] if spec.name in (cache_images or {}) else []
        refs = pull_cache(client, wanted)
        image_id = build_one(client, spec, tags, build_args or {}, labels, refs)
        record["images"][spec.name] = {
            "ref": f"{LOCAL_PREFIX}/{spec.name}:{primary}",
            "id": image_id,
            "dockerfile": str(spec.dockerfile),
        }
    write_record(out / BUILD_RECORD, record)
    say(STEP, f"{len(images)} image(s) built; record in {out / BUILD_RECORD}")
    return 0
