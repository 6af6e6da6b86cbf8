"""The pull request a run belongs to, and a comment posted on it (GitHub's REST API)."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Mapping
from pathlib import Path

API = "https://api.github.com"


def pr_number(env: Mapping[str, str]) -> int | None:
    """The PR number from the event payload GitHub Actions writes (`GITHUB_EVENT_PATH`)."""
    path = env.get("GITHUB_EVENT_PATH")
    if not path or not Path(path).is_file():
        return None
    event = json.loads(Path(path).read_text())
    number = (event.get("pull_request") or {}).get("number")
    return int(number) if number is not None else None


def plan_comment(stack: str, markdown: str) -> str:
    return (
        f"<!-- ascent-plan:{stack} -->\n### `ascent plan` for stack `{stack}`\n\n"
        f"{markdown.strip()}\n"
    )


def post_comment(body: str, env: Mapping[str, str] = os.environ) -> str | None:
    """Post `body` on the run's PR; the reason it was not posted, or None when it was."""
    number = pr_number(env)
    if number is None:
        return "not running in a pull request"
    token, repo = env.get("GITHUB_TOKEN"), env.get("GITHUB_REPOSITORY")
    if not token or not repo:
        return "GITHUB_TOKEN or GITHUB_REPOSITORY is not set"
    request = urllib.request.Request(
        f"{env.get('GITHUB_API_URL', API)}/repos/{repo}/issues/{number}/comments",
        data=json.dumps({"body": body}).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )
    with urllib.request.urlopen(request, timeout=30):
        return None
