"""What is being built: commit SHA, branch, source URL and build time, from CI or from git.

Each CI system names them differently; `ASCENT_GIT_SHA` / `ASCENT_GIT_BRANCH` override all.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ci.shell import ROOT, StepFailed

SHA_VARS = ("ASCENT_GIT_SHA", "CI_COMMIT_SHA", "GIT_COMMIT", "GITHUB_SHA")
# GITHUB_HEAD_REF is the PR's branch; GITHUB_REF_NAME would be `123/merge` there.
BRANCH_VARS = (
    "ASCENT_GIT_BRANCH",
    "CI_COMMIT_REF_NAME",
    "BRANCH_NAME",
    "GITHUB_HEAD_REF",
    "GITHUB_REF_NAME",
)
_SHA = re.compile(r"^[0-9a-f]{40}$")
_CREDENTIALS = re.compile(r"(?<=://)[^/@]+@")


@dataclass(frozen=True)
class Revision:
    sha: str
    branch: str | None
    source: str
    created: str  # RFC 3339, UTC


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out else None


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((env[n] for n in names if env.get(n)), None)


def source_url(env: Mapping[str, str], root: Path) -> str:
    if env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        return f"{server}/{env['GITHUB_REPOSITORY']}"
    url = env.get("CI_PROJECT_URL") or env.get("GIT_URL")
    url = url or _git(root, "remote", "get-url", "origin")
    return _CREDENTIALS.sub("", url) if url else "unknown"


def created(env: Mapping[str, str]) -> str:
    """Build time; `SOURCE_DATE_EPOCH` makes it reproducible."""
    epoch = env.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def current(step: str, env: Mapping[str, str] = os.environ, root: Path = ROOT) -> Revision:
    sha = _first(env, SHA_VARS) or _git(root, "rev-parse", "HEAD")
    if sha is None or not _SHA.match(sha):
        raise StepFailed(
            step,
            f"no commit SHA (got {sha!r}): not a git checkout, none of {', '.join(SHA_VARS)} set",
        )
    branch = _first(env, BRANCH_VARS) or _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    return Revision(
        sha=sha,
        branch=None if branch == "HEAD" else branch,
        source=source_url(env, root),
        created=created(env),
    )
