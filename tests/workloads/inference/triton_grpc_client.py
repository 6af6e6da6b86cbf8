"""Triton's own gRPC client (`tritonclient.grpc`) against a running server: run with the
`.venv-triton` interpreter (tritonclient's grpc extra needs protobuf>=6.30; our venv pins 5.x),
by `test_triton_grpc.py`. Prints one JSON report on stdout.

Usage: triton_grpc_client.py HOST:PORT MODEL FEATURES.npy
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException


def _infer(client: Any, model: str, x: np.ndarray, datatype: str = "FP32", **kw: Any) -> Any:
    inp = grpcclient.InferInput("features", list(x.shape), datatype)
    inp.set_data_from_numpy(x)  # raw_input_contents, as the client always sends
    out = grpcclient.InferRequestedOutput("fraud_probability")
    return client.infer(model, [inp], outputs=[out], **kw)


def _refused(call: Any) -> dict[str, str]:
    try:
        call()
    except InferenceServerException as exc:
        return {"status": str(exc.status()), "message": str(exc.message())}
    return {"status": "OK", "message": ""}


def main() -> None:
    url, model, path = sys.argv[1:4]
    x = np.load(path)
    client = grpcclient.InferenceServerClient(url)
    server_meta = client.get_server_metadata(as_json=True)
    model_meta = client.get_model_metadata(model, as_json=True)
    result = _infer(client, model, x, request_id="req-7")
    answer = result.get_response(as_json=True)
    scores = result.as_numpy("fraud_probability")
    versioned = _infer(client, model, x, model_version=model_meta["versions"][0])
    report = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready(model),
        "server_metadata": server_meta,
        "model_metadata": model_meta,
        "id": answer.get("id"),
        "shape": list(scores.shape),
        "dtype": str(scores.dtype),
        "scores": scores.reshape(-1).tolist(),
        "versioned_equal": bool(np.array_equal(versioned.as_numpy("fraud_probability"), scores)),
        "refused": {
            "wrong_width": _refused(
                lambda: _infer(client, model, np.zeros((2, 7), dtype=np.float32))
            ),
            "out_of_range_fp64": _refused(
                lambda: _infer(client, model, np.full((2, x.shape[1]), 1e300), "FP64")
            ),
            "unknown_model": _refused(lambda: _infer(client, "nope", x)),
            "unknown_version": _refused(lambda: _infer(client, model, x, model_version="v9")),
        },
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
