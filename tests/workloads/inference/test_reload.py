"""Hot reload under load: a new version is picked up with no failed request; a corrupt one is
refused, counted, and the previous version keeps serving. Loaded through s3:// (moto)."""

from __future__ import annotations

import threading
import time

import httpx
import numpy as np
import torch

from .conftest import MODEL, features, publish, publish_corrupt, tensor_body

INFER = f"/v2/models/{MODEL}/infer"


def _versions_until(server, stop: threading.Event, seen: list[tuple[str, int]]) -> None:
    x = tensor_body(features(2, seed=3))
    with httpx.Client(base_url=server.url, timeout=10) as c:
        while not stop.is_set():
            r = c.post(INFER, json=x)
            seen.append((r.json().get("model_version", "?"), r.status_code))


def test_new_versions_swap_in_and_bad_ones_never_serve(s3_env, server_for):
    store = f"{s3_env}/models-root"
    publish(store, "v1", seed=1)
    server = server_for(store)
    stop, seen = threading.Event(), []
    clients = [
        threading.Thread(target=_versions_until, args=(server, stop, seen)) for _ in range(4)
    ]
    for t in clients:
        t.start()
    try:
        time.sleep(0.5)
        v2 = publish(store, "v2", seed=2)
        deadline = time.monotonic() + 20
        while not any(v == "v2" for v, _ in seen[-8:]) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in clients:
            t.join(timeout=30)
    assert seen and all(status == 200 for _, status in seen)
    order = [v for v, _ in seen]
    assert "v1" in order and order[-1] == "v2"
    last_v1 = max(i for i, v in enumerate(order) if v == "v1")
    assert order.index("v2") > 0 and all(v == "v2" for v in order[last_v1 + 1 :])

    x = features(4, seed=11)
    with torch.inference_mode():
        expected = torch.sigmoid(v2(x)).numpy()
    answer = server.client.post(INFER, json=tensor_body(x)).json()
    assert np.allclose(answer["outputs"][0]["data"], expected, atol=1e-6)

    publish_corrupt(store, "v3")
    deadline = time.monotonic() + 20
    while server.metric("ascent_inference_model_load_failures_total", model=MODEL) < 1:
        assert time.monotonic() < deadline, "the corrupt version was never tried"
        time.sleep(0.1)
    after = server.client.post(INFER, json=tensor_body(x))
    assert after.status_code == 200 and after.json()["model_version"] == "v2"
    assert server.client.get("/v2/health/ready").status_code == 200
    assert server.metric("ascent_inference_model_info", model=MODEL, version="v2") == 1
    assert server.metric("ascent_inference_model_loads_total", model=MODEL) == 2
