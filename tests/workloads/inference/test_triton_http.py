"""Triton's own HTTP client against the real server, at its defaults (binary tensor data in and
out, `Inference-Header-Content-Length`) and with JSON: the same scores either way, the extension
advertised, versioned routes, and client mistakes as 4xx through the client's own errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from workloads.common.schema import FEATURE_DIM

from .conftest import MODEL, features, publish


def _expected(model, x: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return torch.sigmoid(model(x)).numpy().reshape(-1, 1)


def _infer(client, x: np.ndarray, binary_in: bool, binary_out: bool, **kw):
    inp = httpclient.InferInput("features", list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=binary_in)
    out = httpclient.InferRequestedOutput("fraud_probability", binary_data=binary_out)
    return client.infer(MODEL, [inp], outputs=[out], **kw)


def test_tritonclient_binary_and_json_give_the_same_scores(file_store, server_for):
    model = publish(file_store, "v1", seed=1)
    server = server_for(file_store)
    client = httpclient.InferenceServerClient(f"127.0.0.1:{server.port}")
    assert client.is_server_live() and client.is_server_ready()
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    assert client.is_model_ready(MODEL) and client.is_model_ready(MODEL, "v1")
    assert client.get_model_metadata(MODEL, "v1")["versions"] == ["v1"]

    x = features(64, seed=4).numpy()
    want = _expected(model, torch.from_numpy(x))
    results = {
        (b_in, b_out): _infer(client, x, b_in, b_out).as_numpy("fraud_probability")
        for b_in in (True, False)
        for b_out in (True, False)
    }
    for got in results.values():
        assert got.shape == (64, 1) and got.dtype == np.float32
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert np.array_equal(results[(True, True)], results[(False, False)])  # bit for bit
    versioned = _infer(client, x, True, True, model_version="v1").as_numpy("fraud_probability")
    assert np.array_equal(versioned, results[(True, True)])


def test_tritonclient_mistakes_are_client_errors(file_store, server_for):
    publish(file_store, "v1", seed=1)
    server = server_for(file_store)
    client = httpclient.InferenceServerClient(f"127.0.0.1:{server.port}")
    wrong_width = np.zeros((2, 7), dtype=np.float32)
    with pytest.raises(InferenceServerException) as exc:
        _infer(client, wrong_width, True, True)
    assert exc.value.status() == "400" and "features" in exc.value.message()
    as_fp64 = httpclient.InferInput("features", [2, FEATURE_DIM], "FP64")
    as_fp64.set_data_from_numpy(np.full((2, FEATURE_DIM), 1e300), binary_data=True)
    with pytest.raises(InferenceServerException) as exc:
        client.infer(MODEL, [as_fp64])
    assert exc.value.status() == "400"
    with pytest.raises(InferenceServerException) as exc:
        _infer(client, features(1, seed=1).numpy(), True, True, model_version="v9")
    assert exc.value.status() == "404" and "v9" in exc.value.message()
