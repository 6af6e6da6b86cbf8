"""Which paths the bare infer layer takes (the rest go on to Starlette's router unchanged)."""

from __future__ import annotations

import socket

import pytest

from workloads.inference.infer_route import infer_target

from .conftest import MODEL, publish


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/v2/models/fraud-detector/infer", ("fraud-detector", None)),
        ("/v2/models/m/versions/7/infer", ("m", "7")),
        ("/v2/models/a b/infer", ("a b", None)),  # scope["path"] is already percent-decoded
    ],
)
def test_infer_paths_are_taken(path: str, target: tuple[str, str | None]) -> None:
    assert infer_target(path) == target


@pytest.mark.parametrize(
    "path",
    [
        "/v2/models//infer",  # an empty name: the router's 404
        "/v2/models/m/infer/",  # the router's slash redirect
        "/v2/models/m/versions//infer",
        "/v2/models/m/ready",
        "/v2/models/m/x/infer",
        "/v2/models/m/versions/7/x/infer",
        "/v1/models/m/infer",
        "/v2/models/infer",
        "/infer",
        "",
        "/",
    ],
)
def test_other_paths_go_to_the_router(path: str) -> None:
    assert infer_target(path) is None


def _answer_before_the_body(port: int, path: str) -> bytes:
    """Send the head of a POST that promises a large body, never the body: the answer must come
    anyway, within the socket timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
        conn.sendall(head.encode())
        return conn.recv(4096)


def test_unknown_model_or_version_is_answered_before_the_body(file_store, server_for):
    publish(file_store, "v1", seed=1)
    server = server_for(file_store)
    assert _answer_before_the_body(server.port, "/v2/models/other/infer").startswith(
        b"HTTP/1.1 404"
    )
    versioned = f"/v2/models/{MODEL}/versions/v9/infer"
    assert _answer_before_the_body(server.port, versioned).startswith(b"HTTP/1.1 404")


def test_no_model_yet_is_answered_before_the_body(file_store, server_for):
    server = server_for(file_store, ready=False)
    answer = _answer_before_the_body(server.port, f"/v2/models/{MODEL}/infer")
    assert answer.startswith(b"HTTP/1.1 503")
