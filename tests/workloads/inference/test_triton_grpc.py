"""Triton's own gRPC client against the real server, as Triton/KServe users call it: health,
metadata, ModelInfer with raw contents (the client's only form) giving the HTTP route's scores bit
for bit, the request id echoed, versioned calls, and client mistakes as the status codes the
client reports. The client runs in `.venv-triton` (`make install`): its grpc extra needs
protobuf>=6.30, which pulumi-policy (protobuf~=5.29) rules out in our own venv."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from workloads.common.schema import FEATURE_DIM

from .conftest import MODEL, features, publish, tensor_body

ROOT = Path(__file__).resolve().parents[3]
TRITON_PYTHON = ROOT / ".venv-triton" / "bin" / "python"
CLIENT = Path(__file__).with_name("triton_grpc_client.py")


@pytest.fixture(scope="module")
def triton_python() -> Path:
    assert TRITON_PYTHON.exists(), "no tritonclient[grpc]: `make install` creates .venv-triton"
    return TRITON_PYTHON


def test_tritonclient_grpc_against_the_server(file_store, server_for, triton_python, tmp_path):
    publish(file_store, "v1", seed=1)
    server = server_for(file_store)
    x = features(64, seed=4)
    np.save(tmp_path / "x.npy", x.numpy())
    run = subprocess.run(
        [triton_python, CLIENT, f"127.0.0.1:{server.grpc_port}", MODEL, tmp_path / "x.npy"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)

    assert report["live"] and report["ready"] and report["model_ready"]
    assert report["server_metadata"]["name"] == "ascent-inference"
    meta = report["model_metadata"]
    assert meta["versions"] == ["v1"]
    assert meta["inputs"] == [
        {"name": "features", "datatype": "FP32", "shape": ["-1", str(FEATURE_DIM)]}
    ]
    assert report["shape"] == [64, 1] and report["dtype"] == "float32"
    assert report["id"] == "req-7" and report["versioned_equal"]

    http = server.client.post(f"/v2/models/{MODEL}/infer", json=tensor_body(x))
    assert http.status_code == 200
    http_scores = np.asarray(http.json()["outputs"][0]["data"], dtype=np.float32)
    assert np.array_equal(np.asarray(report["scores"], dtype=np.float32), http_scores)

    refused = report["refused"]
    assert refused["wrong_width"]["status"] == "StatusCode.INVALID_ARGUMENT"
    assert "features" in refused["wrong_width"]["message"]
    assert refused["out_of_range_fp64"]["status"] == "StatusCode.INVALID_ARGUMENT"
    assert refused["unknown_model"]["status"] == "StatusCode.NOT_FOUND"
    assert refused["unknown_version"]["status"] == "StatusCode.NOT_FOUND"
    assert "v9" in refused["unknown_version"]["message"]
