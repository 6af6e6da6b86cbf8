"""ci/pull_request.py: one comment per stack, updated in place, on GitHub and GitLab.

The server below answers the REST calls as the two APIs document them (paths, methods, page
parameters, the `id`/`body` fields); it records what it was asked."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from ci import pull_request


class Api:
    def __init__(self) -> None:
        self.comments: dict[int, str] = {i: f"unrelated {i}" for i in range(1, 131)}  # 2 pages
        self.calls: list[tuple[str, str]] = []
        self.fail: int | None = None


@pytest.fixture
def api() -> Iterator[tuple[Api, str]]:
    state = Api()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, doc: Any) -> None:
            data = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            url = urlparse(self.path)
            state.calls.append((self.command, url.path))
            if state.fail:
                return self._send(state.fail, {"message": "no"})
            size = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(size)) if size else {}
            if self.command == "GET":
                query = parse_qs(url.query)
                per, page = int(query["per_page"][0]), int(query["page"][0])
                items = [{"id": i, "body": b} for i, b in sorted(state.comments.items())]
                return self._send(200, items[(page - 1) * per : page * per])
            if self.command == "POST":
                new = max(state.comments) + 1
                state.comments[new] = body["body"]
                return self._send(201, {"id": new, "body": body["body"]})
            target = int(url.path.rsplit("/", 1)[1])  # PATCH (GitHub) or PUT (GitLab)
            state.comments[target] = body["body"]
            return self._send(200, {"id": target, "body": body["body"]})

        do_GET = do_POST = do_PATCH = do_PUT = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def _github_env(tmp_path, url: str) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    return {"GITHUB_EVENT_PATH": str(event), "GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "o/r",
            "GITHUB_API_URL": url}  # fmt: skip


def test_github_posts_once_then_edits_its_own_comment_per_stack(api, tmp_path):
    state, url = api
    env = _github_env(tmp_path, url)
    assert pull_request.post_comment(pull_request.plan_comment("aws-dev", "v1"), env) is None
    assert pull_request.post_comment(pull_request.plan_comment("aws-prod", "p1"), env) is None
    assert pull_request.post_comment(pull_request.plan_comment("aws-dev", "v2"), env) is None
    ours = {i: b for i, b in state.comments.items() if b.startswith("<!-- ascent-plan:")}
    assert len(ours) == 2
    assert [b.splitlines()[-1] for b in ours.values()] == ["v2", "p1"]
    assert ("PATCH", f"/repos/o/r/issues/comments/{min(ours)}") in state.calls
    assert [c for c in state.calls if c[0] == "POST"] == [
        ("POST", "/repos/o/r/issues/7/comments")
    ] * 2


def test_gitlab_updates_its_merge_request_note(api):
    state, url = api
    env = {"CI_MERGE_REQUEST_IID": "3", "CI_PROJECT_ID": "group/app", "CI_API_V4_URL": url,
           "GITLAB_TOKEN": "t"}  # fmt: skip
    for text in ("a", "b"):
        assert pull_request.post_comment(pull_request.plan_comment("aws-dev", text), env) is None
    notes = "/projects/group%2Fapp/merge_requests/3/notes"
    assert [c for c in state.calls if c[0] in ("POST", "PUT")] == [
        ("POST", notes), ("PUT", f"{notes}/131")]  # fmt: skip
    assert state.comments[131].endswith("b\n")


def test_an_api_error_is_a_reason_not_a_crash(api, tmp_path):
    state, url = api
    state.fail = 403
    assert (
        pull_request.post_comment("x", _github_env(tmp_path, url))
        == "the API answered 403 Forbidden"
    )
    env = {**_github_env(tmp_path, "http://127.0.0.1:1")}
    assert "could not be reached" in (pull_request.post_comment("x", env) or "")
    assert "GITLAB_TOKEN is not set" in (
        pull_request.post_comment("x", {"CI_MERGE_REQUEST_IID": "1"}) or ""
    )
