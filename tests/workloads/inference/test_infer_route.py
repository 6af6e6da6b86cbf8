"""Which paths the bare infer layer takes (the rest go on to Starlette's router unchanged)."""

from __future__ import annotations

import pytest

from workloads.inference.infer_route import infer_target


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
