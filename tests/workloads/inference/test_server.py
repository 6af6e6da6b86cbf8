"""The server over real HTTP on 127.0.0.1: every protocol route, its errors, batching, metrics,
readiness before a model exists, and a draining shutdown on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import torch

from workloads.common import schema
from workloads.common.model import Arch, FraudModel, to_bytes
from workloads.common.objectstore import ObjectStore
from workloads.common.registry import ModelRegistry

from .conftest import MODEL, features, publish, tensor_body

INFER = f"/v2/models/{MODEL}/infer"


def _expected(model, x: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return torch.sigmoid(model(x)).numpy()


def test_protocol_routes(file_store, server_for):
    model = publish(file_store, "v1", seed=1)
    server = server_for(file_store)
    c = server.client
    assert c.get("/v2/health/live").json() == {"live": True}
    assert c.get("/v2/health/ready").json() == {"ready": True}
    assert c.get("/v2").json()["name"] == "ascent-inference"
    meta = c.get(f"/v2/models/{MODEL}").json()
    assert meta["name"] == MODEL and meta["versions"] == ["v1"]
    assert meta["inputs"] == [
        {"name": "features", "datatype": "FP32", "shape": [-1, schema.FEATURE_DIM]}
    ]
    assert c.get(f"/v2/models/{MODEL}/ready").json() == {"name": MODEL, "ready": True}

    x = features(3, seed=9)
    answer = c.post(INFER, json=tensor_body(x, "req-7")).json()
    assert answer["id"] == "req-7" and answer["model_name"] == MODEL
    assert answer["model_version"] == "v1"
    (out,) = answer["outputs"]
    assert out["shape"] == [3, 1]
    assert np.allclose(out["data"], _expected(model, x), atol=1e-6)
    by_version = c.post(f"/v2/models/{MODEL}/versions/v1/infer", json=tensor_body(x)).json()
    assert by_version["outputs"][0]["data"] == out["data"]
    records = schema.generate(3, seed=9)
    plain = c.post(INFER, json=records).json()
    assert np.allclose(plain["scores"], out["data"], atol=1e-6)


def test_client_mistakes_get_4xx_with_an_error_body(file_store, server_for):
    publish(file_store, "v1", seed=1)
    server = server_for(file_store, "--max-body-bytes", "4096")
    c = server.client
    bad_shape = tensor_body(features(1, seed=1))
    bad_shape["inputs"][0]["shape"] = [1, 7]
    cases = [
        (c.post(INFER, content=b"{not json"), 400, "invalid JSON"),
        (c.post(INFER, json=bad_shape), 400, "shape [1, 7]"),
        (c.post(INFER, json={"inputs": [{"name": "x"}]}), 400, "unknown input 'x'"),
        (c.post("/v2/models/other/infer", json={}), 404, "unknown model 'other'"),
        (c.get("/v2/models/other"), 404, "unknown model 'other'"),
        (c.post(f"/v2/models/{MODEL}/versions/v0/infer", json={}), 404, "'v0' is not served"),
        (c.get("/v3/anything"), 404, "Not Found"),
        (c.get(INFER), 405, "Method Not Allowed"),
        (c.post(INFER, content=b"[" + b"1," * 5000 + b"1]"), 413, "over the limit of 4096"),
    ]
    for response, status, says in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        assert says in response.json()["error"]
    assert (
        server.metric(
            "ascent_inference_requests_total", route=INFER.replace(MODEL, "{name}"), status="400"
        )
        == 3
    )
    assert server.client.get("/v2/health/ready").status_code == 200  # still serving


def test_not_ready_until_a_model_is_published(file_store, server_for):
    server = server_for(file_store, ready=False)
    c = server.client
    assert c.get("/v2/health/live").status_code == 200
    assert c.get("/v2/health/ready").status_code == 503
    refused = c.post(INFER, json=tensor_body(features(1, seed=1)))
    assert refused.status_code == 503 and "no version" in refused.json()["error"]
    publish(file_store, "v1", seed=1)
    server.wait_ready(timeout=15)
    assert c.post(INFER, json=tensor_body(features(1, seed=1))).json()["model_version"] == "v1"
    assert server.metric("ascent_inference_model_info", model=MODEL, version="v1") == 1


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(file_store, server_for):
    model = publish(file_store, "v1", seed=2)
    server = server_for(file_store, "--max-batch-size", "64", "--max-queue-delay-ms", "20")
    inputs = [features(1 + i % 3, seed=100 + i) for i in range(256)]

    def call(x: torch.Tensor) -> list[float]:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            response = c.post(INFER, json=tensor_body(x))
            assert response.status_code == 200, response.text
            data: list[float] = response.json()["outputs"][0]["data"]  # flat, row-major
            return data

    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(call, inputs))
    for x, got in zip(inputs, answers, strict=True):
        assert np.allclose(got, _expected(model, x), atol=1e-5)
    batches = server.metric("ascent_inference_batch_size_count")
    rows = server.metric("ascent_inference_batch_size_sum")
    assert rows == sum(len(x) for x in inputs)
    assert rows / batches > 4, f"{batches} batches for {rows} rows: no batching"


def test_sigterm_drains_then_exits(file_store, server_for):
    publish(file_store, "v1", seed=1)
    server = server_for(file_store, "--drain-s", "1.5")
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert server.client.get("/v2/health/ready").status_code == 503  # out of the endpoints
    x = features(2, seed=1)
    assert server.client.post(INFER, json=tensor_body(x)).status_code == 200  # still serving
    try:
        assert server.proc.wait(timeout=15) == 0
    except subprocess.TimeoutExpired:
        raise AssertionError("the server did not exit after draining") from None


def test_versioned_routes_answer_for_the_loaded_version_only(file_store, server_for):
    publish(file_store, "v1", seed=1)
    server = server_for(file_store)
    c = server.client
    base = f"/v2/models/{MODEL}/versions"
    assert c.get(f"{base}/v1").json() == c.get(f"/v2/models/{MODEL}").json()
    assert c.get(f"{base}/v1/ready").json() == {"name": MODEL, "version": "v1", "ready": True}
    x = features(2, seed=3)
    assert c.post(f"{base}/v1/infer", json=tensor_body(x)).json()["model_version"] == "v1"
    for response in (
        c.get(f"{base}/v2"),
        c.get(f"{base}/v2/ready"),
        c.post(f"{base}/v2/infer", json=tensor_body(x)),
    ):
        assert response.status_code == 404, response.text
        assert response.json() == {"error": "version 'v2' is not served; 'v1' is"}
    publish(file_store, "v2", seed=2)
    deadline = time.monotonic() + 20
    while c.get(f"{base}/v2").status_code != 200:
        assert time.monotonic() < deadline, "v2 was never loaded"
        time.sleep(0.1)
    assert c.get(f"{base}/v2").json()["versions"] == ["v2"]
    assert c.get(f"{base}/v1/ready").status_code == 404
    route = "/v2/models/{name}/versions/{version}/ready"
    assert server.metric("ascent_inference_requests_total", route=route, status="404") == 2


def _publish_weights(store_url: str, version: str, scale: float) -> None:
    """A model whose output is relu(s * x0) - relu(s * x0): 0 (P = 0.5) while s * x0 is finite
    in FP32, inf - inf = NaN once it overflows."""
    model = FraudModel(Arch(schema.FEATURE_DIM, 2, 1)).eval()
    first, last = model.net[0], model.net[2]
    assert isinstance(first, torch.nn.Linear) and isinstance(last, torch.nn.Linear)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        first.weight[:, 0] = scale
        last.weight[0] = torch.tensor([1.0, -1.0])
    registry = ModelRegistry(ObjectStore.from_url(store_url), MODEL)
    manifest = {"input_schema": schema.input_schema()}
    registry.publish(version, {"model.pt": to_bytes(model)}, manifest, promote=True)


def test_non_finite_model_output_is_a_500_counted_and_the_version_kept(file_store, server_for):
    _publish_weights(file_store, "v1", 1e30)  # the probe batch (x0 < 10) stays finite
    server = server_for(file_store)
    c = server.client
    x = features(2, seed=1)
    assert c.post(INFER, json=tensor_body(x)).json()["outputs"][0]["data"] == [0.5, 0.5]
    x[1, 0] = 1e10  # finite, in range for FP32: the model overflows on it
    response = c.post(INFER, json=tensor_body(x))
    assert response.status_code == 500
    assert response.json() == {
        "error": f"model {MODEL!r} version 'v1' gave 1 non-finite output value(s) of 2 "
        "for this input; the version keeps serving"
    }
    assert server.metric("ascent_inference_nonfinite_outputs_total", version="v1") == 1
    # one hostile input must not take the pod out of readiness: the probe batch is still finite
    assert c.get("/v2/health/ready").status_code == 200
    assert c.get(f"/v2/models/{MODEL}/versions/v1/ready").json()["ready"] is True
    assert c.post(INFER, json=tensor_body(x[:1])).status_code == 200  # still serving the rest

    _publish_weights(file_store, "v2", 3.4e38)  # overflows on the probe batch: refused at load
    deadline = time.monotonic() + 20
    while server.metric("ascent_inference_model_load_failures_total", model=MODEL) < 1:
        assert time.monotonic() < deadline, "v2 was never tried"
        time.sleep(0.1)
    assert c.get(f"/v2/models/{MODEL}/ready").json()["ready"] is True  # still v1

    publish(file_store, "v3", seed=3)  # a good version replaces it
    deadline = time.monotonic() + 20
    while c.post(INFER, json=tensor_body(x)).json().get("model_version") != "v3":
        assert time.monotonic() < deadline, "v3 was never served"
        time.sleep(0.1)


def test_a_version_whose_probe_goes_non_finite_is_marked_unhealthy(file_store):
    from workloads.common.objectstore import ObjectStore
    from workloads.inference.service import InferenceService
    from workloads.inference.settings import ServerSettings

    publish(file_store, "v1", seed=1)
    service = InferenceService(ServerSettings(), ObjectStore.from_url(file_store))
    service.watcher.check()
    model = service.model()
    assert service.ready()
    with torch.no_grad():  # the model itself goes bad after loading (memory, a device fault)
        next(model.module.parameters()).fill_(float("nan"))
    scores = model.predict(features(2, seed=1))
    fault = service.nonfinite(model, scores)
    assert "marked unhealthy" in str(fault)
    assert not service.ready() and not service.healthy(model)
    assert service.metrics.unhealthy.labels(model.name, "v1")._value.get() == 1
