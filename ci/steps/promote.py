"""`promote`: copy the released images, by digest, into another registry (another stack's ECR)
with skopeo: no rebuild, so production runs the bytes the previous environment tested.

`skopeo copy --preserve-digests` copies the manifest and blobs as they are (refusing any change
that would alter the digest); the step then reads the manifest back from the target and checks
its sha256 against the source digest before it rewrites `release.json` for the target registry.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ci import registry as registries
from ci.images import RELEASE_RECORD, read_record, write_record
from ci.shell import StepFailed, say, tool

STEP = "promote"


def _authfile(directory: Path, logins: list[dict[str, str] | None]) -> Path | None:
    """A containers-auth.json for the registries that need a login (ECR), else None."""
    auths = {
        login["serveraddress"].removeprefix("https://"): {
            "auth": base64.b64encode(f"{login['username']}:{login['password']}".encode()).decode()
        }
        for login in logins
        if login
    }
    if not auths:
        return None
    path = directory / "auth.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps({"auths": auths}))
    return path


def global_args() -> list[str]:
    """skopeo reads only /etc/containers/registries.conf unless told: pass the file podman and
    buildah take from CONTAINERS_REGISTRIES_CONF (insecure registries, mirrors) on."""
    conf = os.environ.get("CONTAINERS_REGISTRIES_CONF")
    return ["--registries-conf", conf] if conf else []


def copy_argv(skopeo: str, source: str, dest: str, authfile: Path | None) -> list[str]:
    auth = ["--authfile", str(authfile)] if authfile else []
    return [skopeo, *global_args(), "copy", "--preserve-digests", "--retry-times", "3", *auth,
            f"docker://{source}", f"docker://{dest}"]  # fmt: skip


def manifest_digest(skopeo: str, ref: str, authfile: Path | None) -> str:
    """sha256 of the manifest the registry serves for `ref`, exactly as stored."""
    auth = ["--authfile", str(authfile)] if authfile else []
    proc = subprocess.run([skopeo, *global_args(), "inspect", "--raw", *auth, f"docker://{ref}"],
                          capture_output=True, timeout=300, check=False)  # fmt: skip
    if proc.returncode != 0:
        raise StepFailed(STEP, f"cannot read {ref} back: {proc.stderr.decode().strip()}")
    return f"sha256:{hashlib.sha256(proc.stdout).hexdigest()}"


def release_from_config(images: str, tag: str) -> dict[str, Any]:
    """A release record from a stack's `ascent:images` (JSON list of NAME=REPO@DIGEST lines)
    and `ascent:imageTag`: what that stack runs, to promote as it is."""
    lines = json.loads(images) if images else []
    found: dict[str, dict[str, str]] = {}
    for line in lines:
        name, _, ref = str(line).partition("=")
        repository, _, digest = ref.partition("@")
        if not (name and repository and digest.startswith("sha256:")):
            raise StepFailed(
                STEP, f"ascent:images entry {line!r} is not NAME=REPOSITORY@sha256:..."
            )
        found[name] = {"repository": repository, "tag": tag, "digest": digest}
    if not found:
        raise StepFailed(STEP, "the source stack runs no pinned images (ascent:images is empty): "
                         "deploy it from a pushed release first")  # fmt: skip
    registry = next(iter(found.values()))["repository"].rsplit("/", 1)[0]
    return {"registry": registry, "tag": tag, "images": found}


def stack_release(stack_name: str) -> dict[str, Any]:
    """What `stack_name`'s last successful update ran: `ascent:images` and `ascent:imageTag` as
    the backend recorded them with that update (the stack file of this checkout never holds
    them: CI sets them per deploy)."""
    from ci.steps.pulumi_steps import (
        IMAGES,
        TAG,
        open_stack,
        previous_image_config,
        require_cli,
    )

    require_cli(STEP)
    last = previous_image_config(open_stack(STEP, stack_name).history(page_size=20)) or {}
    return release_from_config(last.get(IMAGES, ""), last.get(TAG, ""))


def promote(
    out: Path,
    to_registry: str | None = None,
    stack: str | None = None,
    from_stack: str | None = None,
) -> int:
    """Copy a release (OUT/release.json, or what `from_stack` runs) into the target registry."""
    source: dict[str, Any] = (
        stack_release(from_stack) if from_stack else read_record(STEP, out / RELEASE_RECORD, "push")
    )
    target = to_registry or (registries.for_stack(STEP, stack) if stack else None)
    if not target:
        raise StepFailed(STEP, "no target registry: pass --to-registry or --stack")
    target = target.rstrip("/")
    skopeo = tool(STEP, "skopeo", "apt-get install skopeo")
    logins = [registries.login(STEP, source["registry"]), registries.login(STEP, target)]
    images: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="ascent-promote-") as tmp:
        authfile = _authfile(Path(tmp), logins)
        for name, image in sorted(source["images"].items()):
            src = f"{image['repository']}@{image['digest']}"
            dest_repo = f"{target}/{name}"
            say(STEP, f"{src} -> {dest_repo}:{source['tag']}")
            proc = subprocess.run(
                copy_argv(skopeo, src, f"{dest_repo}:{source['tag']}", authfile),
                capture_output=True, text=True, timeout=1800, check=False,
            )  # fmt: skip
            if proc.returncode != 0:
                raise StepFailed(STEP, f"skopeo copy of {src} failed: {proc.stderr.strip()}")
            copied = manifest_digest(skopeo, f"{dest_repo}:{source['tag']}", authfile)
            if copied != image["digest"]:
                raise StepFailed(STEP, f"{dest_repo}:{source['tag']} is {copied}, not "
                                 f"{image['digest']}: the copy changed the image")  # fmt: skip
            images[name] = {"repository": dest_repo, "tag": source["tag"], "digest": copied}
    write_record(out / RELEASE_RECORD, {
        "registry": target, "tag": source["tag"], "images": images,
        "promotedFrom": source["registry"],
    })  # fmt: skip
    say(STEP, f"{len(images)} image(s) promoted to {target} by digest; record in {RELEASE_RECORD}")
    return 0
