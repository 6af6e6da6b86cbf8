"""The pull (merge) request a run belongs to, and one comment per stack on it, updated in place.

GitHub (REST: issue comments) or GitLab (REST: merge request notes), from the variables their
runners set. Each comment starts with a marker (`<!-- ascent-plan:STACK -->`); a later run edits
the comment holding its marker instead of adding another. Any HTTP or network error is returned
as the reason nothing was posted: a comment never fails the step that wanted to post it.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

API = "https://api.github.com"
MAX_PAGES = 10  # 1,000 comments: past that, a new comment is fine


def pr_number(env: Mapping[str, str]) -> int | None:
    """The PR number from the event payload GitHub Actions writes (`GITHUB_EVENT_PATH`)."""
    path = env.get("GITHUB_EVENT_PATH")
    if not path or not Path(path).is_file():
        return None
    event = json.loads(Path(path).read_text())
    number = (event.get("pull_request") or {}).get("number")
    return int(number) if number is not None else None


def marker(stack: str) -> str:
    return f"<!-- ascent-plan:{stack} -->"


def plan_comment(stack: str, markdown: str) -> str:
    return f"{marker(stack)}\n### `ascent plan` for stack `{stack}`\n\n{markdown.strip()}\n"


def _call(method: str, url: str, headers: dict[str, str], body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        **headers, "Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
    return json.loads(text) if text else None


def _find(list_url: str, headers: dict[str, str], prefix: str) -> Any:
    """The id of the first comment whose body starts with `prefix`, or None."""
    for page in range(1, MAX_PAGES + 1):
        sep = "&" if "?" in list_url else "?"
        items = _call("GET", f"{list_url}{sep}per_page=100&page={page}", headers) or []
        for item in items:
            if str(item.get("body", "")).startswith(prefix):
                return item["id"]
        if len(items) < 100:
            return None
    return None


def _github(env: Mapping[str, str], body: str) -> str | None:
    number = pr_number(env)
    token, repo = env.get("GITHUB_TOKEN"), env.get("GITHUB_REPOSITORY")
    if number is None:
        return "not running in a pull request"
    if not token or not repo:
        return "GITHUB_TOKEN or GITHUB_REPOSITORY is not set"
    api = env.get("GITHUB_API_URL", API).rstrip("/")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28"}  # fmt: skip
    existing = _find(f"{api}/repos/{repo}/issues/{number}/comments", headers, body.split("\n")[0])
    if existing is None:
        _call("POST", f"{api}/repos/{repo}/issues/{number}/comments", headers, {"body": body})
    else:
        _call("PATCH", f"{api}/repos/{repo}/issues/comments/{existing}", headers, {"body": body})
    return None


def _gitlab(env: Mapping[str, str], body: str) -> str | None:
    token = env.get("GITLAB_TOKEN")  # a project access token: CI_JOB_TOKEN cannot write notes
    if not token:
        return "GITLAB_TOKEN is not set (a project access token with the api scope)"
    api = env.get("CI_API_V4_URL", "").rstrip("/")
    project = urllib.parse.quote(env.get("CI_PROJECT_ID", ""), safe="")
    notes = f"{api}/projects/{project}/merge_requests/{env['CI_MERGE_REQUEST_IID']}/notes"
    headers = {"PRIVATE-TOKEN": token}
    existing = _find(notes, headers, body.split("\n")[0])
    if existing is None:
        _call("POST", notes, headers, {"body": body})
    else:
        _call("PUT", f"{notes}/{existing}", headers, {"body": body})
    return None


def post_comment(body: str, env: Mapping[str, str] = os.environ) -> str | None:
    """Post `body` on the run's PR/MR, or update the comment with its marker; the reason it was
    not posted, or None when it was."""
    try:
        if env.get("CI_MERGE_REQUEST_IID"):
            return _gitlab(env, body)
        return _github(env, body)
    except urllib.error.HTTPError as exc:
        return f"the API answered {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"the API could not be reached: {exc}"
